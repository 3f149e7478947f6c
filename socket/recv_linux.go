package socket

import (
	"net"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file is Linux's side of receiving: MSG_TRUNC, which makes recvfrom
// return a truncated datagram's real length; the SO_RXQ_OVFL count of
// datagrams dropped for a full receive buffer; POLLRDHUP and FIONREAD for
// PollNow and Available. recv_bsd.go is the side of macOS and FreeBSD.

// pollRDHup is POLLRDHUP, for PollRDHup.
const pollRDHup = unix.POLLRDHUP

// fionread is the ioctl that Available makes: SIOCINQ, Linux's FIONREAD.
const fionread = unix.SIOCINQ

// truncatedLengthKnown: RecvFrom and RecvMsg report a truncated datagram's
// real length.
const truncatedLengthKnown = true

// recvFromTrunc receives one datagram into p and returns its real length
// (MSG_TRUNC) and its sender.
func (s *Socket) recvFromTrunc(p []byte) (int, netip.AddrPort, error) {
	var rsa unix.RawSockaddrAny
	n, err := s.recvFrom(p, unix.MSG_TRUNC, &rsa)
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	return n, addrPortFromRaw(&rsa), nil
}

// SetRecvDrops turns on SO_RXQ_OVFL: RecvMsg then reports how many
// datagrams the kernel dropped for a full receive buffer.
func (s *Socket) SetRecvDrops(on bool) error {
	return s.setInt("setsockopt SO_RXQ_OVFL", unix.SOL_SOCKET, unix.SO_RXQ_OVFL, boolInt(on))
}

// RecvMsg receives one datagram into p like RecvFrom and also returns the
// kernel's count of datagrams dropped on this socket for a full receive
// buffer, when SetRecvDrops is on (dropsOK reports whether the datagram
// carried the count).
func (s *Socket) RecvMsg(p []byte) (length int, from netip.AddrPort, drops uint32, dropsOK bool, err error) {
	if s.fd < 0 {
		return 0, netip.AddrPort{}, 0, false, net.ErrClosed
	}
	var rsa unix.RawSockaddrAny
	var oob [64]byte
	var iov unix.Iovec
	if len(p) > 0 {
		iov.Base = &p[0]
	}
	iov.SetLen(len(p))
	var msg unix.Msghdr
	msg.Name = (*byte)(unsafe.Pointer(&rsa))
	msg.Namelen = unix.SizeofSockaddrAny
	msg.Iov = &iov
	msg.Iovlen = 1
	msg.Control = &oob[0]
	msg.SetControllen(len(oob))
	for {
		if f := injected(OpRecvFrom, s.fd); f != nil {
			if f == unix.EINTR {
				continue
			}
			return 0, netip.AddrPort{}, 0, false, f
		}
		n, err := s.recvMsg(&msg, unix.MSG_TRUNC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, netip.AddrPort{}, 0, false, err
		}
		drops, dropsOK = rxqOverflow(oob[:msg.Controllen])
		return int(n), addrPortFromRaw(&rsa), drops, dropsOK, nil
	}
}

// rxqOverflow finds the SO_RXQ_OVFL counter among control messages.
func rxqOverflow(b []byte) (uint32, bool) {
	for len(b) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		if h.Len < unix.SizeofCmsghdr || int(h.Len) > len(b) {
			return 0, false
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && int(h.Len) >= unix.CmsgLen(4) {
			return *(*uint32)(unsafe.Pointer(&b[unix.CmsgLen(0)])), true
		}
		b = b[min(unix.CmsgSpace(int(h.Len)-unix.CmsgLen(0)), len(b)):]
	}
	return 0, false
}
