//go:build darwin || freebsd

package socket

import (
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// This file is the side of receiving of macOS and FreeBSD. They have no
// MSG_TRUNC input flag (recvmsg only flags a truncated datagram, without its
// length), no SO_RXQ_OVFL (the kernel's drop count is unknown: RecvMsg
// reports none and udp's Drops stays 0), no POLLRDHUP, and FIONREAD by that
// name. recv_linux.go is Linux's side.

// pollRDHup is 0: no POLLRDHUP here (a FIN shows as POLLIN).
const pollRDHup = 0

// fionread is FIONREAD, _IOR('f', 127, int) in <sys/filio.h> on both
// systems (golang.org/x/sys/unix does not define it for them).
const fionread = 0x4004667f

// truncatedLengthKnown: no, a truncated datagram reports len(p)+1.
const truncatedLengthKnown = false

// recvFromTrunc receives one datagram into p with recvmsg, and its
// sender. A datagram longer than p (MSG_TRUNC in the message's flags)
// reports length len(p)+1: longer, how much is not known.
func (s *Socket) recvFromTrunc(p []byte) (int, netip.AddrPort, error) {
	n, _, flags, from, err := unix.Recvmsg(s.fd, p, nil, 0)
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	if flags&unix.MSG_TRUNC != 0 {
		n = len(p) + 1
	}
	return n, AddrPort(from), nil
}

// SetRecvDrops does nothing here and returns nil: there is no SO_RXQ_OVFL
// on macOS and FreeBSD, so RecvMsg never carries a drop count (dropsOK is
// false) and the drops stay unknown.
func (s *Socket) SetRecvDrops(on bool) error {
	if s.fd < 0 {
		return s.opError("setsockopt SO_RXQ_OVFL", net.ErrClosed)
	}
	return nil
}

// RecvMsg receives one datagram into p like RecvFrom. On Linux it also
// returns the kernel's drop count; here the count is unknown: drops is 0
// and dropsOK false.
func (s *Socket) RecvMsg(p []byte) (length int, from netip.AddrPort, drops uint32, dropsOK bool, err error) {
	if s.fd < 0 {
		return 0, netip.AddrPort{}, 0, false, net.ErrClosed
	}
	n, from, err := s.RecvFrom(p)
	return n, from, 0, false, err
}
