package socket

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"syscall"
)

// Sentinel errors of actornet. Closed sockets report net.ErrClosed and
// expired deadlines os.ErrDeadlineExceeded; these cover the rest.
var (
	// ErrCancelled: the socket closed while the request was pending (or
	// its caller withdrew it). It wraps net.ErrClosed, so a loop that
	// stops on errors.Is(err, net.ErrClosed) stops for a call pending at
	// Close too, as with Go's net.
	ErrCancelled = fmt.Errorf("request cancelled: %w", net.ErrClosed)
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
	// ErrTooManyPending: a socket already holds as many pending requests of
	// a kind as it allows. It wraps EAGAIN.
	ErrTooManyPending = fmt.Errorf("too many pending requests (%w)", syscall.EAGAIN)
	// ErrNoSuchHost: a name did not resolve.
	ErrNoSuchHost = errors.New("no such host")
	// ErrUnexpectedReply: an actor answered with a message of the wrong type.
	ErrUnexpectedReply = errors.New("unexpected reply")
	// ErrPermission: a node's remote policy refused the request (see
	// actors.WithRemotePolicy). It wraps fs.ErrPermission, so
	// errors.Is(err, os.ErrPermission) holds.
	ErrPermission = fmt.Errorf("%w by the node's remote policy", fs.ErrPermission)
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
	// Path is the Unix socket path involved, when the address is one
	// ("@name" for an abstract name).
	Path string
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
	} else if e.Path != "" {
		s += " " + e.Path
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

// AddrError is an address that does not parse or cannot be used, with the
// reason, as Go's net.AddrError: "address localhost:99999: invalid port".
// It matches errors.Is with ErrInvalidAddress (and so ErrInvalidArgument).
type AddrError struct {
	// Addr is the address as written.
	Addr string
	// Reason says what is wrong with it.
	Reason string
}

// Error formats the error as "address ADDR: REASON", or the reason alone
// when there is no address.
func (e *AddrError) Error() string {
	if e.Addr == "" {
		return e.Reason
	}
	return "address " + e.Addr + ": " + e.Reason
}

// Unwrap returns ErrInvalidAddress.
func (e *AddrError) Unwrap() error { return ErrInvalidAddress }

// HostError is a name that did not resolve: "lookup nonexistent.invalid:
// no such host". It matches errors.Is with ErrNoSuchHost, not with
// ErrInvalidAddress: the address was well formed.
type HostError struct {
	// Host is the name looked up.
	Host string
	// Reason is the resolver's word for it.
	Reason string
}

// Error formats the error as "lookup HOST: REASON".
func (e *HostError) Error() string {
	return "lookup " + e.Host + ": " + e.Reason
}

// Unwrap returns ErrNoSuchHost.
func (e *HostError) Unwrap() error { return ErrNoSuchHost }

// OptionError is an option given an invalid value, as the caller wrote it:
// "WithReadSize(0): must be at least 1". It matches errors.Is with
// ErrInvalidArgument; the call that took the option wraps it in an
// OpError naming the operation.
type OptionError struct {
	// Option is the option and its value: "WithReadSize(0)".
	Option string
	// Reason says what a valid value is.
	Reason string
}

// Error formats the error as "OPTION: REASON".
func (e *OptionError) Error() string { return e.Option + ": " + e.Reason }

// Unwrap returns ErrInvalidArgument.
func (e *OptionError) Unwrap() error { return ErrInvalidArgument }

// PollerError is the cause of a request that ended because the poller
// watching its socket failed or stopped: "poller actornet/poller/0:
// epoll_wait: bad file descriptor". It matches errors.Is with ErrPolling.
type PollerError struct {
	// Poller names the poller ("actornet/poller/0").
	Poller string
	// Reason says what happened to it.
	Reason string
}

// Error formats the error as "poller NAME: REASON".
func (e *PollerError) Error() string { return "poller " + e.Poller + ": " + e.Reason }

// Unwrap returns ErrPolling.
func (e *PollerError) Unwrap() error { return ErrPolling }

// ReasonError is an error (an errno) with the reason actornet found for
// it, in words: "address already in use (a live socket listens there)".
// It matches errors.Is with Err.
type ReasonError struct {
	// Err is the cause, an errno.
	Err error
	// Reason says why, in words.
	Reason string
}

// Error formats the error as "ERR (REASON)".
func (e *ReasonError) Error() string { return e.Err.Error() + " (" + e.Reason + ")" }

// Unwrap returns Err.
func (e *ReasonError) Unwrap() error { return e.Err }
