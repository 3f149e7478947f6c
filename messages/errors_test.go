package messages

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/actornet/actornet/socket"
)

// TestErrnoToStatus is the errno → status table: every error a socket
// operation can return maps to a status, and the status converts back to an
// error that errors.Is recognises as the original.
func TestErrnoToStatus(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		code      IOStatus
		errno     int32
		stillIsTo error
	}{
		{name: "nil", err: nil, code: IOStatus_IO_STATUS_OK},
		{name: "ECONNRESET", err: syscall.ECONNRESET, code: IOStatus_IO_STATUS_CONNECTION_RESET, errno: int32(syscall.ECONNRESET), stillIsTo: syscall.ECONNRESET},
		{name: "EPIPE", err: syscall.EPIPE, code: IOStatus_IO_STATUS_CONNECTION_RESET, errno: int32(syscall.EPIPE), stillIsTo: syscall.EPIPE},
		{name: "ECONNABORTED", err: syscall.ECONNABORTED, code: IOStatus_IO_STATUS_CONNECTION_RESET, errno: int32(syscall.ECONNABORTED), stillIsTo: syscall.ECONNABORTED},
		{name: "ECONNREFUSED", err: syscall.ECONNREFUSED, code: IOStatus_IO_STATUS_CONNECTION_REFUSED, errno: int32(syscall.ECONNREFUSED), stillIsTo: syscall.ECONNREFUSED},
		{name: "ETIMEDOUT", err: syscall.ETIMEDOUT, code: IOStatus_IO_STATUS_TIMEOUT, errno: int32(syscall.ETIMEDOUT), stillIsTo: os.ErrDeadlineExceeded},
		{name: "EAGAIN", err: syscall.EAGAIN, code: IOStatus_IO_STATUS_WOULD_BLOCK, errno: int32(syscall.EAGAIN), stillIsTo: syscall.EAGAIN},
		{name: "EMSGSIZE", err: syscall.EMSGSIZE, code: IOStatus_IO_STATUS_MESSAGE_TOO_BIG, errno: int32(syscall.EMSGSIZE), stillIsTo: syscall.EMSGSIZE},
		{name: "EBADF", err: syscall.EBADF, code: IOStatus_IO_STATUS_CLOSED, errno: int32(syscall.EBADF), stillIsTo: syscall.EBADF},
		{name: "EINVAL", err: syscall.EINVAL, code: IOStatus_IO_STATUS_INVALID_ARGUMENT, errno: int32(syscall.EINVAL), stillIsTo: syscall.EINVAL},
		{name: "EMFILE", err: syscall.EMFILE, code: IOStatus_IO_STATUS_NATIVE, errno: int32(syscall.EMFILE), stillIsTo: syscall.EMFILE},
		{name: "EHOSTUNREACH", err: syscall.EHOSTUNREACH, code: IOStatus_IO_STATUS_NATIVE, errno: int32(syscall.EHOSTUNREACH), stillIsTo: syscall.EHOSTUNREACH},
		{name: "wrapped errno", err: &socket.OpError{Op: "read", Err: syscall.ECONNRESET}, code: IOStatus_IO_STATUS_CONNECTION_RESET, errno: int32(syscall.ECONNRESET), stillIsTo: syscall.ECONNRESET},
		{name: "os.SyscallError", err: os.NewSyscallError("recvfrom", syscall.ECONNREFUSED), code: IOStatus_IO_STATUS_CONNECTION_REFUSED, errno: int32(syscall.ECONNREFUSED), stillIsTo: syscall.ECONNREFUSED},
		{name: "net.ErrClosed", err: net.ErrClosed, code: IOStatus_IO_STATUS_CLOSED, stillIsTo: net.ErrClosed},
		{name: "io.EOF", err: io.EOF, code: IOStatus_IO_STATUS_EOF, stillIsTo: io.EOF},
		{name: "deadline", err: os.ErrDeadlineExceeded, code: IOStatus_IO_STATUS_TIMEOUT, stillIsTo: os.ErrDeadlineExceeded},
		{name: "context deadline", err: context.DeadlineExceeded, code: IOStatus_IO_STATUS_TIMEOUT, stillIsTo: os.ErrDeadlineExceeded},
		{name: "cancelled", err: socket.ErrCancelled, code: IOStatus_IO_STATUS_CANCELLED, stillIsTo: socket.ErrCancelled},
		{name: "context cancelled", err: context.Canceled, code: IOStatus_IO_STATUS_CANCELLED, stillIsTo: socket.ErrCancelled},
		{name: "udp not bound", err: socket.ErrUDPNotBound, code: IOStatus_IO_STATUS_UDP_NOT_BOUND, stillIsTo: socket.ErrUDPNotBound},
		{name: "truncated", err: socket.ErrTruncated, code: IOStatus_IO_STATUS_TRUNCATED, stillIsTo: socket.ErrTruncated},
		{name: "polling", err: socket.ErrPolling, code: IOStatus_IO_STATUS_POLLING_ERROR, stillIsTo: socket.ErrPolling},
		{name: "invalid argument", err: socket.ErrInvalidArgument, code: IOStatus_IO_STATUS_INVALID_ARGUMENT, stillIsTo: socket.ErrInvalidArgument},
		{name: "invalid address", err: fmt.Errorf("parse: %w", socket.ErrInvalidAddress), code: IOStatus_IO_STATUS_INVALID_ADDRESS, stillIsTo: socket.ErrInvalidAddress},
		{name: "unknown", err: errors.New("mystery"), code: IOStatus_IO_STATUS_NATIVE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := StatusOf("recv", "tcp4", netip.MustParseAddrPort("127.0.0.1:7"), tt.err)
			if st.Code != tt.code || st.Errno != tt.errno {
				t.Fatalf("StatusOf = %v/%d; want %v/%d", st.Code, st.Errno, tt.code, tt.errno)
			}
			err := st.Err()
			if tt.err == nil {
				if err != nil {
					t.Fatalf("Err() = %v; want nil", err)
				}
				return
			}
			var oe *socket.OpError
			if !errors.As(err, &oe) || oe.Op != "recv" || oe.Net != "tcp4" || oe.Addr.String() != "127.0.0.1:7" {
				t.Fatalf("Err() = %#v; want recv tcp4 127.0.0.1:7 OpError", err)
			}
			if tt.stillIsTo != nil && !errors.Is(err, tt.stillIsTo) {
				t.Fatalf("errors.Is(%v, %v) = false", err, tt.stillIsTo)
			}
			// The status survives the wire.
			wire := &Status{}
			b, _ := protoMarshal(st)
			if err := protoUnmarshal(b, wire); err != nil || wire.Code != st.Code || wire.Errno != st.Errno {
				t.Fatalf("wire round trip = %v, %v", wire, err)
			}
		})
	}
}

func TestTimeoutIsNetError(t *testing.T) {
	err := (&Status{Code: IOStatus_IO_STATUS_TIMEOUT, Op: "recv"}).Err()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("timeout status error %v is not a net.Error with Timeout()", err)
	}
}

func TestPollResultErr(t *testing.T) {
	tests := []struct {
		name string
		res  *PollResult
		want error
	}{
		{name: "event", res: &PollResult{Status: PollStatus_POLL_STATUS_EVENT}},
		{name: "timeout", res: &PollResult{Status: PollStatus_POLL_STATUS_TIMEOUT}, want: os.ErrDeadlineExceeded},
		{name: "hang-up", res: &PollResult{Status: PollStatus_POLL_STATUS_CLOSED}, want: io.EOF},
		{name: "socket closed", res: Rejection(&Poll{}, IOStatus_IO_STATUS_CLOSED).(*PollResult), want: net.ErrClosed},
		{name: "cancelled", res: &PollResult{Status: PollStatus_POLL_STATUS_CANCELLED}, want: socket.ErrCancelled},
		{name: "error errno", res: &PollResult{Status: PollStatus_POLL_STATUS_ERROR, Error: &Status{Code: IOStatus_IO_STATUS_CONNECTION_RESET, Errno: int32(syscall.ECONNRESET), Op: "poll"}}, want: syscall.ECONNRESET},
		{name: "error bare", res: &PollResult{Status: PollStatus_POLL_STATUS_ERROR}, want: socket.ErrPolling},
		{name: "nil", res: nil, want: socket.ErrUnexpectedReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.res.Err()
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Err() = %v; want %v", err, tt.want)
			}
		})
	}
}

// TestErrnoOfAnotherOS: a status carries the errno number of the node that
// classified it (Linux). Where this OS numbers errors differently, the code
// decides what the error is; where the numbers agree (Linux to Linux), the
// errno stays.
func TestErrnoOfAnotherOS(t *testing.T) {
	tests := []struct {
		name  string
		st    *Status
		is    error
		isNot error
	}{
		// Linux's numbers: the same as syscall's on Linux, other errors (or
		// none) on macOS and Windows. Either way the code's error comes out.
		{name: "linux ECONNRESET", st: &Status{Code: IOStatus_IO_STATUS_CONNECTION_RESET, Errno: 104}, is: syscall.ECONNRESET},
		{name: "linux ECONNREFUSED", st: &Status{Code: IOStatus_IO_STATUS_CONNECTION_REFUSED, Errno: 111}, is: syscall.ECONNREFUSED},
		{name: "linux EAGAIN", st: &Status{Code: IOStatus_IO_STATUS_WOULD_BLOCK, Errno: 11}, is: syscall.EAGAIN},
		{name: "linux EMSGSIZE", st: &Status{Code: IOStatus_IO_STATUS_MESSAGE_TOO_BIG, Errno: 90}, is: syscall.EMSGSIZE},
		// A number that means something else here than the code says.
		{name: "refused under another number", st: &Status{Code: IOStatus_IO_STATUS_CONNECTION_REFUSED, Errno: int32(syscall.EMSGSIZE)}, is: syscall.ECONNREFUSED, isNot: syscall.EMSGSIZE},
		{name: "native under a classified number", st: &Status{Code: IOStatus_IO_STATUS_NATIVE, Errno: int32(syscall.ECONNRESET)}, isNot: syscall.ECONNRESET},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.st.Err()
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if tt.isNot != nil && errors.Is(err, tt.isNot) {
				t.Errorf("errors.Is(%v, %v) = true", err, tt.isNot)
			}
		})
	}
	err := (&Status{Code: IOStatus_IO_STATUS_NATIVE, Errno: int32(syscall.ECONNRESET), Op: "recv"}).Err()
	if want := "errno " + strconv.Itoa(int(syscall.ECONNRESET)); !strings.Contains(err.Error(), want) {
		t.Errorf("Err() = %q; want the number (%s) in the text", err, want)
	}
}

// A poller's failure crosses the wire with its name and reason: the error
// a remote caller gets names the poller and matches socket.ErrPolling.
func TestPollerErrorRoundTrip(t *testing.T) {
	cause := &socket.PollerError{Poller: "actornet/poller/1", Reason: "failed: epoll_wait: bad file descriptor"}
	st := StatusOf("recv", "tcp4", netip.MustParseAddrPort("127.0.0.1:9"), cause)
	if st.GetCode() != IOStatus_IO_STATUS_POLLING_ERROR {
		t.Fatalf("code = %v; want polling_error", st.GetCode())
	}
	err := st.Err()
	var pe *socket.PollerError
	if !errors.Is(err, socket.ErrPolling) || !errors.As(err, &pe) || *pe != *cause {
		t.Fatalf("Err = %v; want the poller error back", err)
	}
	if want := "recv tcp4 127.0.0.1:9: poller actornet/poller/1: failed: epoll_wait: bad file descriptor"; err.Error() != want {
		t.Fatalf("Err = %q; want %q", err, want)
	}
}
