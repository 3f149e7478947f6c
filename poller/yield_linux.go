package poller

import "golang.org/x/sys/unix"

// yieldCore gives the thread's core to whatever else is runnable on it
// (sched_yield(2)); it returns at once when nothing is. It never blocks,
// so it is made raw: the goroutine keeps its P.
var yieldCore = func() { unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }
