package poller

import (
	"syscall"
	"unsafe"
	_ "unsafe" // for go:linkname

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

// epollWaitHandoff is epoll_pwait(2) with no signal mask, made after
// giving up the P. Between entersyscallblock and exitsyscall the
// goroutine has no P: nothing here may grow the stack, allocate or be
// instrumented (nosplit, norace), and the system call is the raw one.
//
//go:nosplit
//go:norace
func epollWaitHandoff(epfd int, events []unix.EpollEvent, msec int) (int, syscall.Errno) {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(events)))
	n := uintptr(len(events))
	entersyscallblock()
	r, _, errno := syscall.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), p, n, uintptr(msec), 0, 0)
	exitsyscall()
	return int(r), errno
}
