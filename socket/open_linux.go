package socket

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file is how Linux opens sockets: non-blocking and close-on-exec in
// the same system call (SOCK_NONBLOCK|SOCK_CLOEXEC in socket, socketpair
// and accept4), and no SIGPIPE by a flag on every send (MSG_NOSIGNAL).
// open_bsd.go is the fallback of macOS and FreeBSD.

// sendFlags are the flags of every send: MSG_NOSIGNAL, so that a closed
// peer gives EPIPE, never SIGPIPE.
const sendFlags = unix.MSG_NOSIGNAL

// sysSocket opens a non-blocking, close-on-exec socket.
func sysSocket(family, typ int) (int, error) {
	return unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
}

// sysSocketpair opens a connected pair of non-blocking, close-on-exec
// AF_UNIX sockets.
func sysSocketpair(typ int) ([2]int, error) {
	return unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
}

// sysAccept accepts a connection as a non-blocking, close-on-exec socket,
// with the peer's address. It is accept4(2) made directly: x/sys/unix's
// Accept4 decodes the address into a Sockaddr after asking the socket its
// protocol (getsockopt SO_PROTOCOL, for L2TP), a second system call per
// accept. It is made raw (syscall_linux.go) unless the listener may wait:
// in blocking mode, or when its open file has lost O_NONBLOCK to another
// holder (fcntl on a dup, or in a process it was passed to), which accept
// has no MSG_DONTWAIT to overrule, so fileNonblocking asks the file first.
func sysAccept(fd int, blocking bool) (int, netip.AddrPort, error) {
	var rsa unix.RawSockaddrAny
	l := uint32(unix.SizeofSockaddrAny)
	var nfd uintptr
	var e unix.Errno
	if !blocking && fileNonblocking(fd) {
		nfd, _, e = unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)),
			unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	} else {
		nfd, _, e = unix.Syscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)),
			unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	}
	if e != 0 {
		return -1, netip.AddrPort{}, e
	}
	return int(nfd), addrPortFromRaw(&rsa), nil
}

// fileNonblocking reports whether fd's open file has O_NONBLOCK (fcntl
// F_GETFL, raw); false if it cannot tell.
func fileNonblocking(fd int) bool {
	flags, _, e := unix.RawSyscall(unix.SYS_FCNTL, uintptr(fd), unix.F_GETFL, 0)
	return e == 0 && flags&unix.O_NONBLOCK != 0
}

// sysSockname returns the socket's address (getsockname), or its peer's
// (getpeername), made raw for the reason sysAccept gives.
func sysSockname(fd int, peer bool) (netip.AddrPort, error) {
	var rsa unix.RawSockaddrAny
	l := uint32(unix.SizeofSockaddrAny)
	trap := uintptr(unix.SYS_GETSOCKNAME)
	if peer {
		trap = unix.SYS_GETPEERNAME
	}
	if _, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l))); e != 0 {
		return netip.AddrPort{}, e
	}
	return addrPortFromRaw(&rsa), nil
}

// sysSetsockoptInt sets an int option, made raw: setsockopt does not wait
// for the socket.
func sysSetsockoptInt(fd, level, opt, v int) error {
	v32 := int32(v)
	if _, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&v32)), 4, 0); e != 0 {
		return e
	}
	return nil
}

// sysClose closes fd, made raw unless it may wait (syscall_linux.go says
// which closes may).
func sysClose(fd int, mayWait bool) error {
	if mayWait {
		return unix.Close(fd)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0); e != 0 {
		return e
	}
	return nil
}
