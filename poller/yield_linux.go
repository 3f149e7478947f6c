package poller

import "golang.org/x/sys/unix"

// yieldCore gives the thread's core to whatever else is runnable on it
// (sched_yield(2)); it returns at once when nothing is. It never blocks,
// so it is made raw: the goroutine keeps its P while its thread is off
// the core, and the process's other goroutines queued on that P wait for
// it (the loop yields the P to them first: Gosched before its blocking
// waits).
var yieldCore = func() { unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }
