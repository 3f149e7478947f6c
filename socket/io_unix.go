//go:build linux || darwin || freebsd

package socket

import (
	"net"
	"net/netip"

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
		n, err := s.read(p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		return n, nil
	}
}

// Write writes from p with MSG_NOSIGNAL (on the BSDs the socket has
// SO_NOSIGPIPE from its opening): a closed peer gives EPIPE, never SIGPIPE.
// It may write less than len(p) on a non-blocking socket.
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
		n, err := s.send(p, sendFlags)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

// SendTo sends one datagram to ap, never raising SIGPIPE (as Write). An
// invalid address for the socket's domain is ErrInvalidAddress.
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

// CheckDest reports whether SendTo and SendMsgs could address ap from s,
// without sending: the error SendTo would give for the address itself
// (ErrInvalidAddress, the other family, an unknown zone).
func (s *Socket) CheckDest(ap netip.AddrPort) error {
	var rsa unix.RawSockaddrAny
	_, err := rawSockaddr(s.domain, ap, &rsa)
	return err
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
		n, err := s.sendTo(p, sendFlags, rsa, l)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

// RecvFrom receives one datagram into p. It returns the datagram's real
// length, which is larger than len(p) when the datagram was truncated
// (MSG_TRUNC): the caller decides, never a silent cut. (On macOS and
// FreeBSD the kernel does not tell the real length: a truncated datagram
// reports len(p)+1.)
func (s *Socket) RecvFrom(p []byte) (length int, from netip.AddrPort, err error) {
	if s.fd < 0 {
		return 0, netip.AddrPort{}, net.ErrClosed
	}
	for {
		if f := injected(OpRecvFrom, s.fd); f != nil {
			if f == unix.EINTR {
				continue
			}
			return 0, netip.AddrPort{}, f
		}
		n, from, err := s.recvFromTrunc(p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, netip.AddrPort{}, err
		}
		return n, from, nil
	}
}

// Poll events, for PollNow. PollRDHup is the peer's FIN (POLLRDHUP); macOS
// and FreeBSD have no such event: it is 0 there, and a FIN shows as PollIn.
const (
	PollIn    = unix.POLLIN
	PollOut   = unix.POLLOUT
	PollErr   = unix.POLLERR
	PollHup   = unix.POLLHUP
	PollRDHup = pollRDHup
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
	return unix.IoctlGetInt(s.fd, fionread)
}
