package socket

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file holds the data path's system calls on Linux, made directly on
// raw sockaddrs so that they allocate nothing (golang.org/x/sys/unix's
// Sendto and Recvfrom take and return a Sockaddr interface).
// syscall_bsd.go is their counterpart on macOS and FreeBSD, where macOS
// allows no direct system calls.
//
// While the socket is not in blocking mode (every socket this package
// opens or accepts starts non-blocking; Blocking(true) changes that), they
// are also made without the runtime's entersyscall and exitsyscall
// (RawSyscall), with MSG_DONTWAIT: such a call does not wait for the
// socket, whatever another holder of the open file did to its O_NONBLOCK
// flag (a dup, an fd passed on), so the bookkeeping for a call that might
// (the P marked as in a system call, for sysmon to take back if it stays
// there) buys nothing. It costs more than its own cycles: entering a
// system call wakes sysmon when it sleeps because every P was idle, and a
// woken sysmon ticks every 20 µs for a while, each tick a thread switch on
// a core the program may share. A client whose goroutines wait on futures
// goes idle and wakes hundreds of times a second, and paid those ticks at
// every wake-up (perf: sysmon 8% of the client's CPU, 2.2 µs a round
// trip): 100 connections of tcp.Client Send and RecvExact ran at
// 0.73/0.78/0.83x Go net's blocking client before, 0.88/0.86/0.90x after
// (alternating pairs, both on one core with a Go net echo server). Go's
// runtime makes its own non-blocking calls (netpoll's epoll_wait) the
// same way, and gVisor's netstack its writes to non-blocking fds.
//
// A server's connections are accepted, set up and closed with raw calls
// too, for the same reason (open_linux.go: accept, setsockopt, close; the
// poller's epoll_ctl). Before, a server woke sysmon twice per connection,
// at the accept and at the close, each the first ordinary call after the
// program had been idle: serial TLS handshakes, one connection each, made
// 6.2 context switches a handshake against 3.8 with them raw, and ran at
// 0.98-1.01x Go net's against 1.04-1.07x (test/bench server and Go net
// client on one core, alternating).
//
// A raw call must not wait: the runtime cannot take its P back, and a
// collection's stop-the-world waits for it. So these keep the ordinary
// calls:
//   - everything in blocking mode;
//   - a datagram sent to a Unix socket path (the kernel looks the path up
//     in the file system, which may wait on a disk or a network mount,
//     MSG_DONTWAIT or not);
//   - connect, which waits for the handshake when another holder of the
//     open file cleared O_NONBLOCK (connect has no MSG_DONTWAIT);
//   - accept on a listener whose open file has lost O_NONBLOCK that way
//     (sysAccept asks the file before each raw one);
//   - close of a Unix socket (the last close of one bound to a path
//     frees its inode, in the file system) and of a socket whose
//     SO_LINGER has a time (close waits for the unsent data, whatever
//     O_NONBLOCK says; made raw, the runtime's preemption signal would
//     cut that wait short).
//
// What a raw call may still wait for is the kernel's own locks and
// memory, briefly.
//
// Each call below is written twice, raw and not, rather than through a
// helper that takes the arguments: a pointer converted to uintptr is kept
// alive (and its stack kept in place) only in the argument list of the
// system call itself.

// read reads into p: recvfrom(2) with no address, which on a socket is
// read(2).
func (s *Socket) read(p []byte) (int, error) {
	return s.recvFrom(p, 0, nil)
}

func (s *Socket) send(p []byte, flags int) (int, error) {
	return s.sendTo(p, flags, nil, 0)
}

// sendTo sends p to the l bytes of sockaddr at rsa (nil, 0: a connected
// socket's peer).
func (s *Socket) sendTo(p []byte, flags int, rsa *unix.RawSockaddrAny, l uint32) (int, error) {
	ptr := unsafe.Pointer(unsafe.SliceData(p))
	var n uintptr
	var e unix.Errno
	if s.blocking || (rsa != nil && rsa.Addr.Family == unix.AF_UNIX) {
		n, _, e = unix.Syscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(ptr), uintptr(len(p)), uintptr(flags), uintptr(unsafe.Pointer(rsa)), uintptr(l))
	} else {
		n, _, e = unix.RawSyscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(ptr), uintptr(len(p)), uintptr(flags|unix.MSG_DONTWAIT), uintptr(unsafe.Pointer(rsa)), uintptr(l))
	}
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func (s *Socket) recvFrom(p []byte, flags int, rsa *unix.RawSockaddrAny) (int, error) {
	n, _, err := s.recvFromLen(p, flags, rsa)
	return n, err
}

// recvFromLen is recvFrom that also returns the length of the sender's
// address the kernel wrote.
func (s *Socket) recvFromLen(p []byte, flags int, rsa *unix.RawSockaddrAny) (int, uint32, error) {
	ptr := unsafe.Pointer(unsafe.SliceData(p))
	l := uint32(unix.SizeofSockaddrAny)
	var n uintptr
	var e unix.Errno
	if s.blocking {
		n, _, e = unix.Syscall6(unix.SYS_RECVFROM, uintptr(s.fd), uintptr(ptr), uintptr(len(p)), uintptr(flags), uintptr(unsafe.Pointer(rsa)), uintptr(unsafe.Pointer(&l)))
	} else {
		n, _, e = unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(s.fd), uintptr(ptr), uintptr(len(p)), uintptr(flags|unix.MSG_DONTWAIT), uintptr(unsafe.Pointer(rsa)), uintptr(unsafe.Pointer(&l)))
	}
	if e != 0 {
		return 0, 0, e
	}
	return int(n), l, nil
}

// mmsg is sendmmsg or recvmmsg (trap) of k headers at hdrs.
func (s *Socket) mmsg(trap uintptr, hdrs *unix.Mmsghdr, k, flags int) (int, error) {
	var n uintptr
	var e unix.Errno
	if s.blocking {
		n, _, e = unix.Syscall6(trap, uintptr(s.fd), uintptr(unsafe.Pointer(hdrs)), uintptr(k), uintptr(flags), 0, 0)
	} else {
		n, _, e = unix.RawSyscall6(trap, uintptr(s.fd), uintptr(unsafe.Pointer(hdrs)), uintptr(k), uintptr(flags|unix.MSG_DONTWAIT), 0, 0)
	}
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// recvMsg is recvmsg(2) of msg.
func (s *Socket) recvMsg(msg *unix.Msghdr, flags int) (int, error) {
	var n uintptr
	var e unix.Errno
	if s.blocking {
		n, _, e = unix.Syscall(unix.SYS_RECVMSG, uintptr(s.fd), uintptr(unsafe.Pointer(msg)), uintptr(flags))
	} else {
		n, _, e = unix.RawSyscall(unix.SYS_RECVMSG, uintptr(s.fd), uintptr(unsafe.Pointer(msg)), uintptr(flags|unix.MSG_DONTWAIT))
	}
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
