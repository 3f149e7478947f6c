package socket

import "golang.org/x/sys/unix"

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

// sysAccept accepts a connection as a non-blocking, close-on-exec socket.
func sysAccept(fd int) (int, unix.Sockaddr, error) {
	return unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
}
