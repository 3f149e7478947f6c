package poller

import (
	"golang.org/x/sys/unix"
)

// This file keeps the io_uring backend's requests on the loop's thread.
//
// A request's wake-ups run as task work on the thread that submitted it
// (see uring_linux.go). When that is the thread blocked in the loop's
// io_uring_enter, the socket's wake-up wakes the loop directly, as epoll's
// does; when it is another thread (parked by Go's scheduler, or another
// poller's loop), that thread is woken first to run the task work, which
// then wakes the loop: one context switch more per event. Measured, pinned
// to one core, one connection: 1.0 context switch per round trip on epoll,
// and on io_uring 1.0 or 2.0 depending on whether Go had moved the loop to
// another thread after the connection's requests were armed. Go does that
// when a blocking wait comes back and finds no idle P: a wait made with
// the P that sysmon took meanwhile, or a released one (sleep.go). In one
// harness run each (pinned, 2.2 s): one echo connection moved the loop 0
// and 2 times (released waits, held ones), serial TLS handshakes 57 and
// 9, 32 handshakes at once 33 and 3.
//
// So the requests are armed by the loop: Add and ArmRecv called from
// another thread queue the fd (pending) and wake the loop, which arms it
// in its next reap; and when the loop finds itself on another thread than
// the last time it blocked, it re-arms everything from the new one (home):
// it cancels each poll (but a receiving registration's: see home) and
// each receive, and reap arms them again, from
// the loop, as their ends come in: the owners see neither end (a
// receive's bytes before the end are queued before it, the rest stays in
// the socket for the new one: rearmRecvLocked). Go gives no cheaper way
// to know the thread than gettid(2), made once per blocking wait.

// homeLocked reports whether the caller runs on the loop's thread (or the
// loop has not blocked yet): then it may arm requests itself.
func (u *URing) homeLocked() bool {
	t := u.loopTid.Load()
	return t == 0 || int32(unix.Gettid()) == t
}

// kickLocked wakes the loop to arm what is pending: a NOP, whose CQE ends
// a waiting io_uring_enter (it completes inline: no task work).
func (u *URing) kickLocked(op string) error {
	sqe, err := u.sqeLocked(op)
	if err != nil {
		return err
	}
	sqe.Opcode = ioringOpNop
	sqe.UserData = udSync
	return u.submitLocked(op)
}

// armPendingLocked arms the requests queued by other threads, from the
// loop's; it reports whether it queued SQEs (reap submits them).
func (u *URing) armPendingLocked() bool {
	queued := false
	for _, fd := range u.pending {
		if fd >= len(u.slots) || !u.slots[fd].live {
			continue
		}
		s := &u.slots[fd]
		if s.armRecv && !s.recvArmed {
			if u.recvArmLocked(fd, s) == nil {
				queued = true
			}
		}
		if s.armPoll {
			if u.pollAddLocked(fd, s) == nil {
				queued = true
			}
		}
		s.armPoll, s.armRecv = false, false
	}
	u.pending = u.pending[:0]
	return queued
}

// home runs before the loop blocks: if its thread is not the one it last
// blocked on, the requests armed until now are armed again from this one,
// but the polls of registrations that receive (RegisterRecv): their input
// comes by the receive, and their poll watches only writability and
// errors, which wake it rarely (sends go through the ring too), so it
// stays where it is (its wake-ups, if any, wake the old thread first;
// if that thread exits the kernel ends the poll and reap arms it again).
// A cancel costs the kernel a walk of a hash chain of the ring's
// requests (io_poll_find; 256 chains at most): at 9,000 push-mode
// connections the moves' 18,000 cancels took 14% of the server's time
// in a 1 s window (perf record -g, pinned, 9,000 x 64 B); half of them
// now.
func (u *URing) home() {
	tid := int32(unix.Gettid())
	old := u.loopTid.Swap(tid)
	if old == tid || old == 0 {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return
	}
	u.rehomes.Add(1)
	for fd := range u.slots {
		s := &u.slots[fd]
		if !s.live {
			continue
		}
		if !s.armPoll && !s.recv {
			u.cancelLocked(userData(fd, s.seq))
		}
		if s.recvArmed && !s.recvStopping {
			u.cancelLocked(recvData(fd, s.seq))
			s.recvStopping = true
		}
	}
	_ = u.submitLocked("io_uring rehome")
}

// cancelLocked queues an IORING_OP_ASYNC_CANCEL of request ud; its own CQE
// is read and dropped (the request's end is what counts).
func (u *URing) cancelLocked(ud uint64) {
	if sqe, err := u.sqeLocked("io_uring cancel"); err == nil {
		sqe.Opcode = ioringOpAsyncCancel
		sqe.Fd = -1
		sqe.Addr = ud
		sqe.UserData = ud | udRemoveBit
	}
}
