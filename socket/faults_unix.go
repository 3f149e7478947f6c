//go:build linux || darwin || freebsd

package socket

import "golang.org/x/sys/unix"

// ReadFault returns the fault InjectFaults decides for a read on the
// socket that is not made with Read (the poller received the bytes for
// it, io_uring): nil when there is none; an injected unix.EINTR is retried
// as Read retries it.
func (s *Socket) ReadFault() error {
	for {
		f := injected(OpRead, s.fd)
		if f != unix.EINTR {
			return f
		}
	}
}

// WriteFault returns the fault InjectFaults decides for a write on the
// socket that is not made with Write (the poller sends the bytes for it,
// io_uring): nil when there is none; an injected unix.EINTR is retried
// as Write retries it.
func (s *Socket) WriteFault() error {
	for {
		f := injected(OpWrite, s.fd)
		if f != unix.EINTR {
			return f
		}
	}
}
