package socket

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
)

// The tests in this file use no system call: they run on every OS.

func TestOpErrorFormatsAsGoNet(t *testing.T) {
	tests := []struct {
		name string
		err  *OpError
		want string
	}{
		{name: "full", err: &OpError{Op: "connect", Net: "tcp4", Addr: netip.MustParseAddrPort("127.0.0.1:1"), Err: syscall.ECONNREFUSED}, want: "connect tcp4 127.0.0.1:1: " + syscall.ECONNREFUSED.Error()},
		{name: "no address", err: &OpError{Op: "close", Net: "udp6", Err: net.ErrClosed}, want: "close udp6: use of closed network connection"},
		{name: "op only", err: &OpError{Op: "poll"}, want: "poll"},
		{name: "nil", err: nil, want: "<nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Fatalf("Error() = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestErrorsMatch(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		is      []error
		isNot   []error
		timeout bool
	}{
		{name: "errno through OpError", err: &OpError{Op: "recv", Err: syscall.ECONNRESET}, is: []error{syscall.ECONNRESET}},
		{name: "deadline", err: &OpError{Op: "recv", Err: os.ErrDeadlineExceeded}, is: []error{os.ErrDeadlineExceeded}, timeout: true},
		{name: "too many pending is EAGAIN", err: &OpError{Op: "recv", Err: ErrTooManyPending}, is: []error{ErrTooManyPending, syscall.EAGAIN}},
		{name: "invalid address is an invalid argument", err: ErrInvalidAddress, is: []error{ErrInvalidAddress, ErrInvalidArgument}},
		{name: "address error", err: &OpError{Op: "listen", Err: &AddrError{Addr: "x:99999", Reason: "invalid port"}}, is: []error{ErrInvalidAddress, ErrInvalidArgument}, isNot: []error{ErrNoSuchHost}},
		{name: "host error", err: &OpError{Op: "connect", Err: &HostError{Host: "nonexistent.invalid", Reason: "no such host"}}, is: []error{ErrNoSuchHost}, isNot: []error{ErrInvalidAddress}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, target := range tt.is {
				if !errors.Is(tt.err, target) {
					t.Errorf("errors.Is(%v, %v) = false", tt.err, target)
				}
			}
			for _, target := range tt.isNot {
				if errors.Is(tt.err, target) {
					t.Errorf("errors.Is(%v, %v) = true", tt.err, target)
				}
			}
			var oe *OpError
			if errors.As(tt.err, &oe) && oe.Timeout() != tt.timeout {
				t.Errorf("Timeout() = %v; want %v", oe.Timeout(), tt.timeout)
			}
		})
	}
}

func TestAddrAndHostErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "address", err: &AddrError{Addr: "localhost:99999", Reason: "invalid port"}, want: "address localhost:99999: invalid port"},
		{name: "no address", err: &AddrError{Reason: "missing address"}, want: "missing address"},
		{name: "host", err: &HostError{Host: "nonexistent.invalid", Reason: "no such host"}, want: "lookup nonexistent.invalid: no such host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Fatalf("Error() = %q; want %q", got, tt.want)
			}
		})
	}
}
