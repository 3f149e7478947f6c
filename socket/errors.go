package socket

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
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
	// ErrTooManyPending: a socket already holds as many pending requests of
	// a kind as it allows. It wraps EAGAIN.
	ErrTooManyPending = fmt.Errorf("too many pending requests (%w)", syscall.EAGAIN)
	// ErrNoSuchHost: a name did not resolve.
	ErrNoSuchHost = errors.New("no such host")
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

// AddrError is an address that does not parse or cannot be used, with the
// reason, as Go's net.AddrError: "address localhost:99999: invalid port".
// It matches errors.Is with ErrInvalidAddress (and so ErrInvalidArgument).
type AddrError struct {
	// Addr is the address as written.
	Addr string
	// Reason says what is wrong with it.
	Reason string
}

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
	Host string
	// Reason is the resolver's word for it.
	Reason string
}

func (e *HostError) Error() string {
	return "lookup " + e.Host + ": " + e.Reason
}

// Unwrap returns ErrNoSuchHost.
func (e *HostError) Unwrap() error { return ErrNoSuchHost }

// ParseHostPort splits "host:port" as a dial or listen address: the port
// is a number from 0 to 65535, the host an IP literal (ip set), a name
// (ip invalid) or empty. Errors are *AddrError naming what is wrong, as
// Go's net says it ("missing port in address", "invalid port", "invalid
// IP address"). It looks nothing up.
func ParseHostPort(addr string) (host string, ip netip.Addr, port uint16, err error) {
	if addr == "" {
		return "", netip.Addr{}, 0, &AddrError{Addr: addr, Reason: "missing address"}
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return "", netip.Addr{}, 0, &AddrError{Addr: addr, Reason: ae.Err}
		}
		return "", netip.Addr{}, 0, &AddrError{Addr: addr, Reason: err.Error()}
	}
	n, perr := strconv.ParseUint(p, 10, 16)
	if perr != nil {
		return "", netip.Addr{}, 0, &AddrError{Addr: addr, Reason: "invalid port"}
	}
	if a, err := netip.ParseAddr(h); err == nil {
		ip = a
	} else if strings.Trim(h, "0123456789.") == "" && h != "" {
		// All digits and dots, but not an IPv4 address: a bad IP, not a
		// name to look up.
		return "", netip.Addr{}, 0, &AddrError{Addr: addr, Reason: "invalid IP address"}
	}
	return h, ip, uint16(n), nil
}

// ParseLocal parses the local address of a listen or bind: "ip:port", or
// ":port" for every interface (IPv4 and IPv6: the IPv6 unspecified
// address, dual stack). A name is refused (the Go handles resolve names
// before they ask an actor). Errors are *AddrError.
func ParseLocal(addr string) (netip.AddrPort, error) {
	host, ip, port, err := ParseHostPort(addr)
	switch {
	case err != nil:
		return netip.AddrPort{}, err
	case host == "":
		ip = netip.IPv6Unspecified()
	case !ip.IsValid():
		return netip.AddrPort{}, &AddrError{Addr: addr, Reason: "a host name, not an IP address (tcp.Listen and udp.Bind resolve names; a Listen or Bind message takes an IP)"}
	}
	return netip.AddrPortFrom(ip, port), nil
}
