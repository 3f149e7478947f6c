//go:build darwin || freebsd

package socket

import (
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// This file is how macOS and FreeBSD open sockets, the portable way (macOS
// has neither SOCK_NONBLOCK nor accept4): the plain system call, then
// close-on-exec while holding syscall.ForkLock, so that no fork in between
// inherits the fd (as Go's net does: src/net/sys_cloexec.go,
// src/internal/poll/sys_cloexec.go), then O_NONBLOCK and SO_NOSIGPIPE,
// which stands for Linux's MSG_NOSIGNAL: a closed peer gives EPIPE, never
// SIGPIPE. open_linux.go is Linux's shortcut.

// sendFlags are the flags of every send: none, the socket has SO_NOSIGPIPE.
const sendFlags = 0

// sysSocket opens a non-blocking, close-on-exec socket with SO_NOSIGPIPE.
func sysSocket(family, typ int) (int, error) {
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(family, typ, 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, err
	}
	return setUp(fd)
}

// sysSocketpair opens a connected pair of non-blocking, close-on-exec
// AF_UNIX sockets with SO_NOSIGPIPE.
func sysSocketpair(typ int) ([2]int, error) {
	syscall.ForkLock.RLock()
	fds, err := unix.Socketpair(unix.AF_UNIX, typ, 0)
	if err == nil {
		unix.CloseOnExec(fds[0])
		unix.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return fds, err
	}
	if _, err := setUp(fds[0]); err != nil {
		unix.Close(fds[1])
		return [2]int{-1, -1}, err
	}
	if _, err := setUp(fds[1]); err != nil {
		unix.Close(fds[0])
		return [2]int{-1, -1}, err
	}
	return fds, nil
}

// sysAccept accepts a connection as a non-blocking, close-on-exec socket
// with SO_NOSIGPIPE (an accepted socket need not inherit it).
func sysAccept(fd int, _ bool) (int, netip.AddrPort, error) {
	syscall.ForkLock.RLock()
	nfd, sa, err := unix.Accept(fd)
	if err == nil {
		unix.CloseOnExec(nfd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	if _, err := setUp(nfd); err != nil {
		return -1, netip.AddrPort{}, err
	}
	return nfd, AddrPort(sa), nil
}

// setUp makes fd non-blocking and sets SO_NOSIGPIPE; on failure it closes
// fd.
func setUp(fd int) (int, error) {
	err := unix.SetNonblock(fd, true)
	if err == nil {
		err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_NOSIGPIPE, 1)
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// sysSockname returns the socket's address (getsockname), or its peer's
// (getpeername).
func sysSockname(fd int, peer bool) (netip.AddrPort, error) {
	get := unix.Getsockname
	if peer {
		get = unix.Getpeername
	}
	sa, err := get(fd)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return AddrPort(sa), nil
}

// sysSetsockoptInt sets an int option (setsockopt).
func sysSetsockoptInt(fd, level, opt, v int) error { return unix.SetsockoptInt(fd, level, opt, v) }

// sysClose closes fd.
func sysClose(fd int, _ bool) error { return unix.Close(fd) }
