package socket

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
)

// Sentinel errors of actornet. Closed sockets report net.ErrClosed and
// expired deadlines os.ErrDeadlineExceeded; these cover the rest.
var (
	// ErrCancelled: the socket closed while the request was pending.
	ErrCancelled = errors.New("request cancelled: socket closed")
	// ErrUDPNotBound: a receive on a UDP peer that was never bound.
	ErrUDPNotBound = errors.New("udp peer not bound")
	// ErrTruncated: a datagram was longer than the buffer offered for it.
	ErrTruncated = errors.New("datagram truncated")
	// ErrPolling: the poller failed to watch the socket.
	ErrPolling = errors.New("polling error")
	// ErrInvalidArgument: the request itself is malformed.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrInvalidAddress: an address that cannot be used for the operation.
	// It wraps ErrInvalidArgument.
	ErrInvalidAddress = fmt.Errorf("invalid address (%w)", ErrInvalidArgument)
	// ErrUnexpectedReply: an actor answered with a message of the wrong type.
	ErrUnexpectedReply = errors.New("unexpected reply")
)

// OpError is the one error type of actornet: the operation, the network,
// the address involved and the cause. Err is an errno (syscall.Errno), one
// of the sentinels above, net.ErrClosed, io.EOF or os.ErrDeadlineExceeded,
// so errors.Is works through it.
type OpError struct {
	// Op is the operation: "socket", "bind", "connect", "poll", "recv"...
	Op string
	// Net is "tcp4", "tcp6", "udp4", "udp6", "unix" or empty.
	Net string
	// Addr is the endpoint involved; the zero value means none.
	Addr netip.AddrPort
	// Err is the cause.
	Err error
}

// Error formats the error as Go's net package does: "op net addr: cause".
func (e *OpError) Error() string {
	if e == nil {
		return "<nil>"
	}
	s := e.Op
	if e.Net != "" {
		s += " " + e.Net
	}
	if e.Addr.IsValid() {
		s += " " + e.Addr.String()
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

// Timeout reports whether the error is a deadline expiring, as net.Error.
func (e *OpError) Timeout() bool { return errors.Is(e.Err, os.ErrDeadlineExceeded) }

// Temporary is part of net.Error; like Go's net it reports Timeout.
func (e *OpError) Temporary() bool { return e.Timeout() }
