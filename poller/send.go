package poller

import (
	"errors"
	"math"
	"os"
	"sync/atomic"
	"syscall"
)

// This file is the portable side of sending through the poller (the
// io_uring backend's batched send, uring_send_linux.go): an owner that
// runs on its poller's loop queues its write as a request instead of
// calling write(2), and the loop submits every queued request in the one
// io_uring_enter it makes in its next turn, so that a turn that serves N
// connections makes one system call for all their writes. The result
// comes back as a Ready(Writable), and the owner takes it with
// SendResult. On any other backend Sends reports false.
//
// A send is non-blocking (MSG_DONTWAIT): it completes in the enter that
// submits it, taking what the socket has room for, as write(2) would;
// EAGAIN means the owner waits for writability as after a write(2).
// At most one send per registration is in flight, so the owner knows
// the offset it goes on from.

// SendEnv, set to 0, turns off the io_uring backend's batched send for
// the pollers started afterwards: owners then write with write(2).
const SendEnv = "ACTORNET_URING_SEND"

// sendEnabled reports whether SendEnv leaves the send on.
func sendEnabled() bool { return os.Getenv(SendEnv) != "0" }

// ErrSendStopped is what SendResult returns when the backend did not send
// (the kernel refused the request, or a shortage): nothing of the bytes
// was sent, and the owner writes them with write(2).
var ErrSendStopped = errors.New("poller: send not made: write the bytes with write(2)")

// sendBackend is a backend that sends for a registration itself.
type sendBackend interface {
	// Send queues a send of p on fd (submitted by the loop's next enter);
	// p stays referenced until its completion is read.
	Send(fd int, p []byte) error
	setSendSink(sink func(token uint64, res int32))
}

// The states of txState.res beside a result: no send, a send in flight.
const (
	txIdle    = math.MinInt64
	txPending = math.MinInt64 + 1
)

// txState is a registration's send: idle, in flight, or its result
// (bytes, or a negative errno) waiting for the owner. res is written by
// the owner (Send, SendResult) and the loop (the completion), each when
// the other is not: the owner starts a send only from idle, and takes
// the result only once the loop wrote it.
type txState struct {
	on  bool // the backend sends for the registration
	off atomic.Bool
	res atomic.Int64
}

// Sends reports whether the poller can send for the registration (the
// io_uring backend, SendEnv not 0, the kernel not having refused a
// send).
func (r *Registration) Sends() bool { return r != nil && r.tx.on && !r.tx.off.Load() }

// Sending reports whether a send is in flight or its result not taken.
func (r *Registration) Sending() bool { return r.tx.on && r.tx.res.Load() != txIdle }

// Send queues a send of p, which must stay unmodified until SendResult
// reports it done (the registration keeps it alive that long, also past
// Deregister). It reports false, having queued nothing, when the poller
// cannot send for it now: the owner writes with write(2). Only the owner
// calls it, with no send in flight; it is meant for an owner running on
// the poller's loop (any other goroutine works, at the cost of a
// wake-up of the loop).
func (r *Registration) Send(p []byte) bool {
	sb, ok := r.p.be.(sendBackend)
	if !ok || !r.Sends() || len(p) == 0 || !r.tx.res.CompareAndSwap(txIdle, txPending) {
		return false
	}
	// The completion comes as a Ready(Writable): wanted before the send
	// is queued, since it may complete before the owner returns (when it
	// runs off the loop: a handler the watchdog moved, whose sends a new
	// loop submits) and an unwanted Ready is dropped for good.
	r.Want(Writable)
	if err := sb.Send(r.fd, p); err != nil {
		r.tx.res.Store(txIdle)
		return false
	}
	if r.p.sleeping.Load() {
		// Queued by another goroutine than the loop's, which is about to
		// block (or blocks): wake it, which submits the send too.
		_ = r.p.wake()
	}
	return true
}

// SendResult takes the result of the send in flight: done is false while
// it has not completed (a Ready(Writable) comes when it does). Done, it
// returns the bytes sent, or the error write(2) would have returned
// (syscall.EAGAIN: nothing sent, wait for writability), or
// ErrSendStopped. Only the owner calls it.
func (r *Registration) SendResult() (n int, err error, done bool) {
	v := r.tx.res.Load()
	if v == txPending || v == txIdle {
		return 0, nil, false
	}
	r.tx.res.Store(txIdle)
	if v >= 0 {
		return int(v), nil, true
	}
	switch errno := syscall.Errno(-v); errno {
	case syscall.EINVAL, syscall.EOPNOTSUPP, syscall.ENOSYS:
		// The kernel does not send for us: write(2) from here on.
		r.tx.off.Store(true)
		return 0, ErrSendStopped, true
	case syscall.ECANCELED, syscall.EINTR, syscall.ENOMEM, syscall.EBUSY:
		return 0, ErrSendStopped, true
	default:
		return 0, errno, true
	}
}

// pushSend stores a send's completion for the registration of token.
func (p *Poller) pushSend(token uint64, res int32) {
	if r := p.lookup(token); r != nil && r.tx.on {
		r.tx.res.CompareAndSwap(txPending, int64(res))
	}
}

// Sends returns how many sends the poller's backend has queued for
// owners (io_uring): 0 on a backend that does not send.
func (p *Poller) Sends() uint64 {
	if c, ok := p.be.(interface{ sendCount() uint64 }); ok {
		return c.sendCount()
	}
	return 0
}
