package socket

import "sync/atomic"

// Op names a data-path system call, for fault injection.
type Op uint8

// The data-path system calls InjectFaults can fail.
const (
	OpRead Op = iota + 1
	OpWrite
	OpSendTo
	OpRecvFrom
	OpAccept
)

// FaultFunc decides the fate of one data-path system call on fd: a non-nil
// error is that call's result instead of making it (unix.EINTR is retried
// as a real one is, so return it a bounded number of times), nil lets the
// call run.
type FaultFunc func(op Op, fd int) error

var faults atomic.Pointer[FaultFunc]

// InjectFaults makes every socket in the process consult f before each
// data-path system call, until remove is called. It exists for fault-
// injection tests (ECONNRESET on read or write, EPIPE, EINTR, EMFILE on
// accept) of the actors above; without it, each call pays one atomic load.
func InjectFaults(f FaultFunc) (remove func()) {
	faults.Store(&f)
	return func() { faults.CompareAndSwap(&f, nil) }
}

// injected returns the fault f decides for op on fd, if any.
func injected(op Op, fd int) error {
	if f := faults.Load(); f != nil {
		return (*f)(op, fd)
	}
	return nil
}
