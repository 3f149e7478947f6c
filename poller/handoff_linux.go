package poller

import (
	"syscall"
	"unsafe" // and for go:linkname

	"golang.org/x/sys/unix"
)

// A blocking system call made the ordinary way (syscall.Syscall6) keeps
// its goroutine's P: the runtime takes the P back only when sysmon sees
// the call still blocked a tick later (20 µs to 10 ms), then hands it to
// another thread, and the caller's thread, once the call returns, finds
// its P gone and queues its goroutine to wait for one. The runtime's own
// blocking waits (notetsleepg) give the P up before they block instead,
// with entersyscallblock. These two are the runtime's, pushed for
// packages outside it (go.dev/issue/67401; gvisor uses them the same
// way): entersyscallblock hands the P off at once, exitsyscall takes an
// idle P back on return.

//go:linkname entersyscallblock runtime.entersyscallblock
func entersyscallblock()

//go:linkname exitsyscall runtime.exitsyscall
func exitsyscall()

// syscallHandoff is a system call made after giving up the P. Between
// entersyscallblock and exitsyscall the goroutine has no P: nothing here
// may grow the stack, allocate or be instrumented (nosplit, norace), and
// the system call is the raw one. Pointers passed as uintptr must point
// to memory the caller keeps alive (heap memory does not move).
//
//go:nosplit
//go:norace
func syscallHandoff(trap, a1, a2, a3, a4, a5, a6 uintptr) (uintptr, syscall.Errno) {
	entersyscallblock()
	r, _, errno := syscall.RawSyscall6(trap, a1, a2, a3, a4, a5, a6)
	exitsyscall()
	return r, errno
}

// epollWaitHandoff is epoll_pwait(2) with no signal mask, made after
// giving up the P.
func epollWaitHandoff(epfd int, events []unix.EpollEvent, msec int) (int, syscall.Errno) {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(events)))
	r, errno := syscallHandoff(unix.SYS_EPOLL_PWAIT, uintptr(epfd), p, uintptr(len(events)), uintptr(msec), 0, 0)
	return int(r), errno
}
