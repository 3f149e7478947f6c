package poller

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// parker makes a kernel instance's blocking wait the way Go's net package
// waits on a socket: the loop's goroutine parks in the runtime's
// netpoller and its thread goes on to run other goroutines, or blocks in
// the runtime's own epoll_wait when there are none. An epoll instance is
// pollable: readable while it has events. When it has one, the runtime
// makes the goroutine runnable on whatever thread has a P: no thread of
// the poller's own to wake, no P to hand over (handoff_linux.go wakes
// another thread for each wait, which on a busy core finds nothing to do).
// It costs a non-blocking poll more per wake-up, and the runtime's
// scheduling: the loop parks only when its recent waits were long
// (sleep.go).
type parker struct {
	f  *os.File        // owns the fd: Close closes it
	rc syscall.RawConn // f's
	// mu: one wait at a time (a loop replaced by Handoff may still
	// come to wait once).
	mu sync.Mutex
	// try is what RawConn.Read calls: poll without blocking, into n and
	// err. Made once, so that a wait allocates nothing.
	try    func(uintptr) bool
	poll   func(events []event) (int, error)
	events []event
	first  bool // try's first call of this wait
	n      int
	err    error
	parks  atomic.Uint64 // times a wait found nothing, parked and woke
}

// newParker takes fd over (it closes it on error): made non-blocking, it
// is registered with the runtime's netpoller. poll is the instance's
// non-blocking wait.
func newParker(fd int, name string, poll func([]event) (int, error)) (*parker, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fcntl O_NONBLOCK "+name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	k := &parker{f: f, rc: rc, poll: poll}
	k.try = func(uintptr) bool {
		if !k.first {
			k.parks.Add(1)
		}
		k.first = false
		k.n, k.err = k.poll(k.events)
		return k.n > 0 || k.err != nil
	}
	return k, nil
}

// wait polls, and while nothing is ready parks until the fd is readable
// and polls again; parked reports whether it did (the first poll found
// nothing). RawConn.Read arms the runtime's wait before it calls try, so
// an event that comes after a poll that found nothing wakes it.
func (k *parker) wait(events []event) (n int, parked bool, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.events, k.first = events, true
	parks := k.parks.Load()
	err = k.rc.Read(k.try)
	k.events = nil
	parked = k.parks.Load() != parks
	if err != nil {
		return 0, parked, os.NewSyscallError(k.f.Name()+" wait (parked)", err)
	}
	return k.n, parked, k.err
}

// close closes the fd (through the runtime, which forgets it first).
func (k *parker) close() error { return k.f.Close() }
