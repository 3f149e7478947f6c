package socket

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file holds the data path's system calls on Linux, made raw so that
// they allocate nothing (golang.org/x/sys/unix's Sendto and Recvfrom take
// and return a Sockaddr interface). syscall_bsd.go is their counterpart on
// macOS and FreeBSD, where macOS allows no raw system calls.

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
