package poller

// This file is the portable side of the kernel interface: what the loop in
// poller.go needs from it. The OS side is epoll_linux.go (epoll and an
// eventfd) and uring_linux.go (io_uring readiness, filling the same
// epoll_event), or kqueue_bsd.go (kqueue and an EVFILT_USER event), each
// giving the loop: event (the kernel's event type, read in place), watched
// (what a registration watches), openBackend (backends.go), and the
// inlined tokenOf, hangUp, readable and writable that read one event.

// Events is the set of events a registration watches: an epoll mask
// (unix.EPOLLIN, unix.EPOLLOUT...) on Linux, KqueueRead and KqueueWrite on
// macOS and FreeBSD.
type Events = uint32

// backend is the kernel interface the poller actor runs on; epoll,
// io_uring or kqueue in production, a fake in tests that need one.
type backend interface {
	Add(fd int, ev Events, token uint64) error
	Remove(fd int) error
	Wait(events []event, msec int) (int, error)
	Wake() error
	ResetWake()
	Close() error
}

// handoffBackend is a backend whose blocking wait can give up the
// goroutine's P before it blocks (handoff_linux.go): the loop calls it
// when its recent waits blocked longer than handoffAfter.
type handoffBackend interface {
	WaitHandoff(events []event, msec int) (int, error)
}

// parkBackend is a backend whose blocking wait can park the goroutine in
// Go's netpoller (parker): while parks says so (always on epoll; on
// io_uring, while the program runs on one P: uring_park_linux.go), as
// updateParks found it before the loop's last blocking wait.
type parkBackend interface {
	WaitParked(events []event) (n int, parked bool, err error)
	parks() bool
	updateParks()
}

// wakeToken is the token of the wake-up event that Wake raises.
const wakeToken = ^uint64(0)
