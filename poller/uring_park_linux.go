package poller

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// This file is the io_uring backend's parked wait: the loop's goroutine
// parks in Go's netpoller on the ring's fd, as epoll's loop does on its
// instance (park_linux.go), where it would otherwise give its P up for a
// blocking io_uring_enter (handoff_linux.go).
//
// A ring's fd is readable while its CQ ring holds entries, and wakes its
// pollers as each is posted. A socket's wake-up posts its CQE in task
// work on the thread that armed the request (uring_linux.go): a thread
// asleep (the loop's, in the runtime's own epoll_wait or futex) is woken
// for it, runs it on its way back to user space and posts the CQE, which
// makes the fd readable; a thread running user code runs it at its next
// entry to the kernel (IORING_SETUP_COOP_TASKRUN: no interrupt), a tick
// at most. Task work already queued for the loop's thread when it comes
// to park is run by the parker's first poll (wait with msec 0 enters the
// ring when the kernel flags it: IORING_SQ_TASKRUN). CQEs a Remove moves
// out of the ring while the loop is parked wake it with the NOP the
// Remove submits last (drainForRemoveLocked).
//
// Why: an idle loop that hands its P off wakes another thread for it at
// each wait, and its blocking system call wakes the runtime's monitor
// (asleep in an idle program), which then ticks every 20 µs for a
// millisecond. A parked loop's thread goes on to the netpoller itself.
// Measured (test/bench, server and client on one core, TLS handshakes
// one at a time, 10 alternating rounds, medians): 874 handshakes a
// second handing off (562 µs of server CPU each), 984 parked (485 µs);
// Go net's server 965 (435), epoll's 1,055 (406). Echo and UDP cells level
// (64 B at 1, 100 and 1,000 connections, same core and cross-core;
// client futures at 1, 100 and 1,000).
//
// Only on one P (GOMAXPROCS=1: a process pinned to one core, as the
// bench's servers are). With more, the goroutine the netpoller readies
// runs on whichever thread polled, so the loop moves between threads at
// its wake-ups, and a loop that moves re-arms its requests on the new
// thread (home) or leaves their task work waking the old one: unpinned
// (two Ps, clients beside it), echo at 1 and 100 connections fell 7% and
// 11% parked, with thousands of moves a second. There the loop keeps
// handing off (and boundedHold's held waits).

// newParker makes the ring's parker, on a duplicate of its fd (the
// parker owns and closes its fd).
func (u *URing) newParker() (*parker, error) {
	fd, err := unix.FcntlInt(uintptr(u.r.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("fcntl F_DUPFD_CLOEXEC io_uring", err)
	}
	return newParker(fd, "io_uring", func(events []event) (int, error) { return u.wait(events, 0, false) })
}

// WaitParked is a blocking Wait that parks the goroutine in Go's
// netpoller instead of blocking its thread (parker); parked is false
// when its first poll found events. The requests armed from here on are
// armed from this thread (home).
func (u *URing) WaitParked(events []event) (n int, parked bool, err error) {
	u.home()
	return u.park.wait(events)
}

// parks reports whether the loop's released waits park: the program ran
// on one P when the loop last came to wait (updateParks).
func (u *URing) parks() bool { return u.oneP.Load() }

// updateParks asks the runtime for GOMAXPROCS, once a blocking wait
// (it takes the scheduler's lock).
func (u *URing) updateParks() { u.oneP.Store(runtime.GOMAXPROCS(0) == 1) }
