package socket

import (
	"sync/atomic"
)

// Op names a data-path system call, for fault injection.
type Op uint8

// The system calls InjectFaults can fail.
const (
	OpRead Op = iota + 1
	OpWrite
	OpSendTo
	OpRecvFrom
	OpAccept
	OpSocket // fd is -1
	OpClose
	OpConnect
	OpBind
	OpListen
	OpShutdown
)

// FaultFunc decides the fate of one system call on fd: a non-nil
// error is that call's result instead of making it (unix.EINTR is retried
// as a real one is, so return it a bounded number of times), nil lets the
// call run.
type FaultFunc func(op Op, fd int) error

var faults atomic.Pointer[FaultFunc]

// InjectFaults makes every socket in the process consult f before each
// system call, until remove is called. It is the one fault-injection
// mechanism for system calls (the actors' InjectFault message is the one
// for actor crashes): tests of EMFILE from socket or accept, ECONNRESET on
// read or write, EPIPE, EINTR, EIO from close, of this package and of the
// actors above. Without it, each call pays one atomic load.
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

// errOr returns the injected fault if there is one, else runs call.
func errOr(fault error, call func() error) error {
	if fault != nil {
		return fault
	}
	return call()
}
