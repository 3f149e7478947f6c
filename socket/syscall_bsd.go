//go:build darwin || freebsd

package socket

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file holds the data path's system calls on macOS and FreeBSD, on
// golang.org/x/sys/unix's wrappers: macOS allows no raw system calls (they
// go through libSystem), so the raw, allocation-free calls of
// syscall_linux.go are not an option there. A datagram sent or received
// allocates its Sockaddr.

// send writes p. flags is sendFlags, 0 here: the socket has SO_NOSIGPIPE,
// so a plain write never raises SIGPIPE.
func (s *Socket) send(p []byte, _ int) (int, error) {
	n, err := unix.Write(s.fd, p)
	if err != nil {
		return 0, err
	}
	return n, nil
}

// sendTo sends p as one datagram to the address in rsa.
func (s *Socket) sendTo(p []byte, flags int, rsa *unix.RawSockaddrAny, _ uint32) (int, error) {
	var to unix.Sockaddr
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		to = &unix.SockaddrInet4{Port: int(ntohs(sa.Port)), Addr: sa.Addr}
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		to = &unix.SockaddrInet6{Port: int(ntohs(sa.Port)), Addr: sa.Addr, ZoneId: sa.Scope_id}
	default:
		return 0, unix.EAFNOSUPPORT
	}
	if err := unix.Sendto(s.fd, p, flags, to); err != nil {
		return 0, err
	}
	return len(p), nil
}

// read reads into p.
func (s *Socket) read(p []byte) (int, error) { return unix.Read(s.fd, p) }
