//go:build linux || darwin || freebsd

package socket

import (
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// This file is the Socket of Linux, macOS and FreeBSD: an fd and the setup
// system calls on it. The portable vocabulary (Domain, Type, How) is in
// socket.go; how a socket is opened, Linux's shortcut or the BSDs'
// fallback, in open_linux.go and open_bsd.go.

// family is the domain's AF_ constant, -1 for none.
func (d Domain) family() int {
	switch d {
	case IPv4:
		return unix.AF_INET
	case IPv6:
		return unix.AF_INET6
	case Unix:
		return unix.AF_UNIX
	}
	return -1
}

// sysType is the type's SOCK_ constant, -1 for none.
func (t Type) sysType() int {
	switch t {
	case Stream:
		return unix.SOCK_STREAM
	case Datagram:
		return unix.SOCK_DGRAM
	}
	return -1
}

// sysHow is the SHUT_ constant of h, -1 for none.
func (h How) sysHow() int {
	switch h {
	case Read:
		return unix.SHUT_RD
	case Write:
		return unix.SHUT_WR
	case Both:
		return unix.SHUT_RDWR
	}
	return -1
}

// Socket is an open socket: an fd with its domain and type. It is owned by
// one goroutine or actor at a time and is not safe for concurrent use; it
// never starts goroutines. Every fd it opens has close-on-exec set.
type Socket struct {
	fd     int
	domain Domain
	typ    Type
	// blocking: set to blocking mode with Blocking (every socket opens
	// non-blocking). The data path's system calls on Linux are made raw
	// only when it is false (syscall_linux.go).
	blocking bool
	// lingers: SetLinger gave SO_LINGER a time, so close may wait for
	// the unsent data (sysClose).
	lingers bool
}

// Open opens a non-blocking socket of domain d and type t.
func Open(d Domain, t Type) (*Socket, error) {
	if d != IPv4 && d != IPv6 && d != Unix {
		return nil, &OpError{Op: "socket", Err: ErrInvalidArgument}
	}
	if t != Stream && t != Datagram {
		return nil, &OpError{Op: "socket", Err: ErrInvalidArgument}
	}
	if err := injected(OpSocket, -1); err != nil {
		return nil, &OpError{Op: "socket", Net: netName(d, t), Err: err}
	}
	fd, err := sysSocket(d.family(), t.sysType())
	if err != nil {
		return nil, &OpError{Op: "socket", Net: netName(d, t), Err: err}
	}
	return &Socket{fd: fd, domain: d, typ: t}, nil
}

// Pair opens a connected pair of non-blocking AF_UNIX sockets of type t.
func Pair(t Type) (*Socket, *Socket, error) {
	fds, err := sysSocketpair(t.sysType())
	if err != nil {
		return nil, nil, &OpError{Op: "socketpair", Net: "unix", Err: err}
	}
	return &Socket{fd: fds[0], domain: Unix, typ: t}, &Socket{fd: fds[1], domain: Unix, typ: t}, nil
}

// FD returns the file descriptor, or -1 once closed. Change its blocking
// mode with Blocking, not with fcntl on the fd, and its SO_LINGER with
// SetLinger (or Options), not with setsockopt on the fd: on Linux the
// data path and close make their system calls as for a non-blocking fd
// whose close does not wait (syscall_linux.go) unless those said
// otherwise.
func (s *Socket) FD() int { return s.fd }

// Domain returns the socket's domain.
func (s *Socket) Domain() Domain { return s.domain }

// Type returns the socket's type.
func (s *Socket) Type() Type { return s.typ }

// Net names the network as Go does: "tcp4", "tcp6", "udp4", "udp6", "unix".
func (s *Socket) Net() string { return netName(s.domain, s.typ) }

// Close closes the fd. It is idempotent: a second call returns an OpError
// wrapping net.ErrClosed and closes nothing.
func (s *Socket) Close() error {
	if s.fd < 0 {
		return s.opError("close", net.ErrClosed)
	}
	fd := s.fd
	s.fd = -1
	if err := injected(OpClose, fd); err != nil {
		return s.opError("close", err)
	}
	if err := sysClose(fd, s.blocking || s.lingers || s.domain == Unix); err != nil {
		return s.opError("close", err)
	}
	return nil
}

// Blocking sets (true) or clears (false) blocking mode with fcntl.
func (s *Socket) Blocking(blocking bool) error {
	if s.fd < 0 {
		return s.opError("setblocking", net.ErrClosed)
	}
	if err := unix.SetNonblock(s.fd, !blocking); err != nil {
		return s.opError("setblocking", err)
	}
	s.blocking = blocking
	return nil
}

// IsBlocking reports the fd's current blocking mode.
func (s *Socket) IsBlocking() (bool, error) {
	if s.fd < 0 {
		return false, s.opError("getblocking", net.ErrClosed)
	}
	fl, err := unix.FcntlInt(uintptr(s.fd), unix.F_GETFL, 0)
	if err != nil {
		return false, s.opError("getblocking", err)
	}
	return fl&unix.O_NONBLOCK == 0, nil
}

// Shutdown shuts down one or both directions.
func (s *Socket) Shutdown(how How) error {
	if s.fd < 0 {
		return s.opError("shutdown", net.ErrClosed)
	}
	if how != Read && how != Write && how != Both {
		return s.opError("shutdown", ErrInvalidArgument)
	}
	if err := errOr(injected(OpShutdown, s.fd), func() error { return unix.Shutdown(s.fd, how.sysHow()) }); err != nil {
		return s.opError("shutdown", err)
	}
	return nil
}

// Bind binds the socket to ap.
func (s *Socket) Bind(ap netip.AddrPort) error {
	if s.fd < 0 {
		return s.addrError("bind", ap, net.ErrClosed)
	}
	sa, err := Sockaddr(s.domain, ap)
	if err != nil {
		return s.addrError("bind", ap, err)
	}
	if err := errOr(injected(OpBind, s.fd), func() error { return unix.Bind(s.fd, sa) }); err != nil {
		return s.addrError("bind", ap, err)
	}
	return nil
}

// Listen marks a stream socket as listening. A backlog of 0 or less means
// the kernel maximum (SOMAXCONN).
func (s *Socket) Listen(backlog int) error {
	if s.fd < 0 {
		return s.opError("listen", net.ErrClosed)
	}
	if backlog <= 0 {
		backlog = unix.SOMAXCONN
	}
	if err := errOr(injected(OpListen, s.fd), func() error { return unix.Listen(s.fd, backlog) }); err != nil {
		return s.opError("listen", err)
	}
	return nil
}

// Connect starts connecting to ap. On a non-blocking socket it usually
// returns an error wrapping unix.EINPROGRESS: wait for writability, then
// read the outcome with Error.
func (s *Socket) Connect(ap netip.AddrPort) error {
	if s.fd < 0 {
		return s.addrError("connect", ap, net.ErrClosed)
	}
	if !ap.Addr().IsValid() || ap.Port() == 0 {
		return s.addrError("connect", ap, ErrInvalidAddress)
	}
	sa, err := Sockaddr(s.domain, ap)
	if err != nil {
		return s.addrError("connect", ap, err)
	}
	if err := errOr(injected(OpConnect, s.fd), func() error { return unix.Connect(s.fd, sa) }); err != nil {
		return s.addrError("connect", ap, err)
	}
	return nil
}

// Accept accepts a connection as a non-blocking, close-on-exec socket. Like
// Read it returns the bare errno (unix.EAGAIN when none is waiting).
func (s *Socket) Accept() (*Socket, netip.AddrPort, error) {
	if s.fd < 0 {
		return nil, netip.AddrPort{}, net.ErrClosed
	}
	if err := injected(OpAccept, s.fd); err != nil {
		return nil, netip.AddrPort{}, err
	}
	fd, ap, err := sysAccept(s.fd, s.blocking)
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	// The connection inherits the listener's SO_LINGER (the kernel copies
	// it), so its close may wait as the listener's would.
	return &Socket{fd: fd, domain: s.domain, typ: s.typ, lingers: s.lingers}, ap, nil
}

// Error reads and clears the pending socket error (SO_ERROR); nil if none.
// It returns the bare errno, as after a non-blocking connect.
func (s *Socket) Error() error {
	if s.fd < 0 {
		return net.ErrClosed
	}
	v, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	if v != 0 {
		return unix.Errno(v)
	}
	return nil
}

// LocalAddr returns the bound address; the zero value for unix sockets.
func (s *Socket) LocalAddr() (netip.AddrPort, error) {
	if s.fd < 0 {
		return netip.AddrPort{}, s.opError("getsockname", net.ErrClosed)
	}
	ap, err := sysSockname(s.fd, false)
	if err != nil {
		return netip.AddrPort{}, s.opError("getsockname", err)
	}
	return ap, nil
}

// RemoteAddr returns the peer's address of a connected socket.
func (s *Socket) RemoteAddr() (netip.AddrPort, error) {
	if s.fd < 0 {
		return netip.AddrPort{}, s.opError("getpeername", net.ErrClosed)
	}
	ap, err := sysSockname(s.fd, true)
	if err != nil {
		return netip.AddrPort{}, s.opError("getpeername", err)
	}
	return ap, nil
}

func (s *Socket) opError(op string, err error) error {
	return &OpError{Op: op, Net: s.Net(), Err: err}
}

func (s *Socket) addrError(op string, ap netip.AddrPort, err error) error {
	return &OpError{Op: op, Net: s.Net(), Addr: ap, Err: err}
}
