//go:build linux || darwin || freebsd

package socket

import (
	"net"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The data-path methods below return the bare errno (unix.EAGAIN,
// unix.ECONNRESET...) or net.ErrClosed, never an OpError: they sit on the
// hot path, where an EAGAIN per readiness edge must not allocate. The actor
// layer wraps the errors that reach a caller, once.

// Read reads into p. It returns 0, nil at end of stream.
func (s *Socket) Read(p []byte) (int, error) {
	if s.fd < 0 {
		return 0, net.ErrClosed
	}
	for {
		if f := injected(OpRead, s.fd); f != nil {
			if f == unix.EINTR {
				continue
			}
			return 0, f
		}
		n, err := unix.Read(s.fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		return n, nil
	}
}

// Write writes from p with MSG_NOSIGNAL: a closed peer gives EPIPE, never
// SIGPIPE. It may write less than len(p) on a non-blocking socket.
func (s *Socket) Write(p []byte) (int, error) {
	if s.fd < 0 {
		return 0, net.ErrClosed
	}
	for {
		if f := injected(OpWrite, s.fd); f != nil {
			if f == unix.EINTR {
				continue
			}
			return 0, f
		}
		n, err := send(s.fd, p, unix.MSG_NOSIGNAL)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

// SendTo sends one datagram to ap with MSG_NOSIGNAL. An invalid address for
// the socket's domain is ErrInvalidAddress.
func (s *Socket) SendTo(p []byte, ap netip.AddrPort) (int, error) {
	if s.fd < 0 {
		return 0, net.ErrClosed
	}
	var rsa unix.RawSockaddrAny
	l, err := rawSockaddr(s.domain, ap, &rsa)
	if err != nil {
		return 0, err
	}
	return s.sendToRaw(p, &rsa, l)
}

// sendToRaw sends one datagram to the l bytes of sockaddr at rsa, with
// MSG_NOSIGNAL, again after EINTR.
func (s *Socket) sendToRaw(p []byte, rsa *unix.RawSockaddrAny, l uint32) (int, error) {
	for {
		if f := injected(OpSendTo, s.fd); f != nil {
			if f == unix.EINTR {
				continue
			}
			return 0, f
		}
		n, err := sendTo(s.fd, p, unix.MSG_NOSIGNAL, rsa, l)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

// RecvFrom receives one datagram into p. It returns the datagram's real
// length, which is larger than len(p) when the datagram was truncated
// (MSG_TRUNC): the caller decides, never a silent cut.
func (s *Socket) RecvFrom(p []byte) (length int, from netip.AddrPort, err error) {
	if s.fd < 0 {
		return 0, netip.AddrPort{}, net.ErrClosed
	}
	var rsa unix.RawSockaddrAny
	for {
		if f := injected(OpRecvFrom, s.fd); f != nil {
			if f == unix.EINTR {
				continue
			}
			return 0, netip.AddrPort{}, f
		}
		n, err := recvFrom(s.fd, p, unix.MSG_TRUNC, &rsa)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, netip.AddrPort{}, err
		}
		return n, addrPortFromRaw(&rsa), nil
	}
}

func send(fd int, p []byte, flags int) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	n, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(ptr), uintptr(len(p)), uintptr(flags), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func sendTo(fd int, p []byte, flags int, rsa *unix.RawSockaddrAny, l uint32) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	n, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(ptr), uintptr(len(p)), uintptr(flags), uintptr(unsafe.Pointer(rsa)), uintptr(l))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func recvFrom(fd int, p []byte, flags int, rsa *unix.RawSockaddrAny) (int, error) {
	n, _, err := recvFromLen(fd, p, flags, rsa)
	return n, err
}

// recvFromLen is recvFrom that also returns the length of the sender's
// address the kernel wrote.
func recvFromLen(fd int, p []byte, flags int, rsa *unix.RawSockaddrAny) (int, uint32, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	l := uint32(unix.SizeofSockaddrAny)
	n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(ptr), uintptr(len(p)), uintptr(flags), uintptr(unsafe.Pointer(rsa)), uintptr(unsafe.Pointer(&l)))
	if e != 0 {
		return 0, 0, e
	}
	return int(n), l, nil
}

// Poll events, for PollNow.
const (
	PollIn    = unix.POLLIN
	PollOut   = unix.POLLOUT
	PollErr   = unix.POLLERR
	PollHup   = unix.POLLHUP
	PollRDHup = unix.POLLRDHUP
)

// PollNow reports the socket's readiness at this instant with poll(2) and
// a zero timeout: the returned events are among events plus PollErr and
// PollHup, which the kernel always reports.
func (s *Socket) PollNow(events int16) (int16, error) {
	if s.fd < 0 {
		return 0, net.ErrClosed
	}
	fds := [1]unix.PollFd{{Fd: int32(s.fd), Events: events}}
	for {
		_, err := unix.Poll(fds[:], 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		return fds[0].Revents, nil
	}
}

// Available returns the number of bytes waiting to be read (FIONREAD).
func (s *Socket) Available() (int, error) {
	if s.fd < 0 {
		return 0, net.ErrClosed
	}
	return unix.IoctlGetInt(s.fd, unix.SIOCINQ)
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
		n, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_TRUNC)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, netip.AddrPort{}, 0, false, e
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
