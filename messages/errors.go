package messages

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"

	"github.com/actornet/actornet/socket"
)

// StatusOf maps err, the outcome of operation op, to a Status. nil is
// IO_STATUS_OK; an errno keeps its number; net.ErrClosed, io.EOF,
// os.ErrDeadlineExceeded and socket's sentinels map to their codes.
func StatusOf(op, network string, addr netip.AddrPort, err error) *Status {
	st := &Status{Op: op, Net: network}
	var oe *socket.OpError
	switch {
	case addr.IsValid():
		st.Addr = NewEndpoint(addr)
	case errors.As(err, &oe) && oe.Path != "":
		st.Addr = NewUnixEndpoint(oe.Path)
	}
	st.Code, st.Errno = Classify(err)
	var ae *socket.AddrError
	var he *socket.HostError
	var de *net.DNSError
	var pe *socket.PollerError
	var re *socket.ReasonError
	switch {
	case errors.As(err, &ae):
		st.Address, st.Detail = ae.Addr, ae.Reason
	case errors.As(err, &pe):
		st.Address, st.Detail = pe.Poller, pe.Reason
	case errors.As(err, &re):
		st.Detail = re.Reason
	case errors.As(err, &he):
		st.Address, st.Detail = he.Host, he.Reason
	case errors.As(err, &de):
		st.Address, st.Detail = de.Name, de.Err
	}
	return st
}

// Classify maps an error to its IOStatus and errno (0 when it carries none).
func Classify(err error) (IOStatus, int32) {
	if err == nil {
		return IOStatus_IO_STATUS_OK, 0
	}
	if errors.Is(err, socket.ErrTooManyPending) {
		return IOStatus_IO_STATUS_TOO_MANY_PENDING, int32(syscall.EAGAIN)
	}
	if errors.Is(err, socket.ErrPermission) {
		return IOStatus_IO_STATUS_PERMISSION_DENIED, 0
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return classifyErrno(errno), int32(errno)
	}
	var de *net.DNSError
	switch {
	case errors.Is(err, socket.ErrNoSuchHost), errors.As(err, &de) && !de.IsTimeout:
		return IOStatus_IO_STATUS_NO_SUCH_HOST, 0
	case errors.Is(err, socket.ErrCancelled), errors.Is(err, context.Canceled):
		return IOStatus_IO_STATUS_CANCELLED, 0
	case errors.Is(err, net.ErrClosed):
		return IOStatus_IO_STATUS_CLOSED, 0
	case errors.Is(err, io.EOF):
		return IOStatus_IO_STATUS_EOF, 0
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return IOStatus_IO_STATUS_TIMEOUT, 0
	case errors.Is(err, socket.ErrUDPNotBound):
		return IOStatus_IO_STATUS_UDP_NOT_BOUND, 0
	case errors.Is(err, socket.ErrTruncated):
		return IOStatus_IO_STATUS_TRUNCATED, 0
	case errors.Is(err, socket.ErrPolling):
		return IOStatus_IO_STATUS_POLLING_ERROR, 0
	case errors.Is(err, socket.ErrInvalidAddress):
		return IOStatus_IO_STATUS_INVALID_ADDRESS, 0
	case errors.Is(err, socket.ErrInvalidArgument):
		return IOStatus_IO_STATUS_INVALID_ARGUMENT, 0
	}
	return IOStatus_IO_STATUS_NATIVE, 0
}

func classifyErrno(e syscall.Errno) IOStatus {
	switch e {
	case syscall.ECONNRESET, syscall.EPIPE, syscall.ECONNABORTED:
		return IOStatus_IO_STATUS_CONNECTION_RESET
	case syscall.ECONNREFUSED:
		return IOStatus_IO_STATUS_CONNECTION_REFUSED
	case syscall.ETIMEDOUT:
		return IOStatus_IO_STATUS_TIMEOUT
	case syscall.EAGAIN:
		return IOStatus_IO_STATUS_WOULD_BLOCK
	case syscall.EMSGSIZE:
		return IOStatus_IO_STATUS_MESSAGE_TOO_BIG
	case syscall.EBADF:
		return IOStatus_IO_STATUS_CLOSED
	case syscall.EINVAL:
		return IOStatus_IO_STATUS_INVALID_ARGUMENT
	}
	return IOStatus_IO_STATUS_NATIVE
}

// causes are the Go errors each status stands for when it carries no errno.
var causes = map[IOStatus]error{
	IOStatus_IO_STATUS_CLOSED:             net.ErrClosed,
	IOStatus_IO_STATUS_EOF:                io.EOF,
	IOStatus_IO_STATUS_CONNECTION_RESET:   syscall.ECONNRESET,
	IOStatus_IO_STATUS_CONNECTION_REFUSED: syscall.ECONNREFUSED,
	IOStatus_IO_STATUS_TIMEOUT:            socket.ErrTimeout,
	IOStatus_IO_STATUS_WOULD_BLOCK:        syscall.EAGAIN,
	IOStatus_IO_STATUS_POLLING_ERROR:      socket.ErrPolling,
	IOStatus_IO_STATUS_CANCELLED:          socket.ErrCancelled,
	IOStatus_IO_STATUS_UDP_NOT_BOUND:      socket.ErrUDPNotBound,
	IOStatus_IO_STATUS_MESSAGE_TOO_BIG:    syscall.EMSGSIZE,
	IOStatus_IO_STATUS_INVALID_ARGUMENT:   socket.ErrInvalidArgument,
	IOStatus_IO_STATUS_TRUNCATED:          socket.ErrTruncated,
	IOStatus_IO_STATUS_INVALID_ADDRESS:    socket.ErrInvalidAddress,
	IOStatus_IO_STATUS_NO_SUCH_HOST:       socket.ErrNoSuchHost,
	IOStatus_IO_STATUS_TOO_MANY_PENDING:   socket.ErrTooManyPending,
	IOStatus_IO_STATUS_PERMISSION_DENIED:  socket.ErrPermission,
}

// Err converts the status to a Go error: nil for IO_STATUS_OK, otherwise a
// *socket.OpError whose cause is the errno when there is one (except for
// timeouts, which are socket.ErrTimeout) and the status's sentinel
// otherwise. errors.Is works with net.ErrClosed, io.EOF,
// os.ErrDeadlineExceeded and context.DeadlineExceeded (both match a
// timeout), syscall errnos and socket's sentinels.
//
// The errno is the number of the OS that classified it (Linux, where the
// socket actors run). On a node whose OS gives that number another meaning
// (Linux's ECONNREFUSED, 111, read on macOS) the code decides: the cause is
// this OS's errno for the code (syscall.ECONNREFUSED) or its sentinel.
func (s *Status) Err() error {
	if s == nil || s.Code == IOStatus_IO_STATUS_OK {
		return nil
	}
	var cause error
	switch {
	case s.Code == IOStatus_IO_STATUS_TIMEOUT:
		cause = socket.ErrTimeout
	case s.Code == IOStatus_IO_STATUS_TOO_MANY_PENDING:
		cause = socket.ErrTooManyPending
	case s.Errno != 0 && classifyErrno(syscall.Errno(s.Errno)) == s.Code:
		// The number means here what it meant where it was classified
		// (always so between Linux nodes): keep it. Errno numbers differ
		// between OSes; where this one means something else, the code's
		// own cause below stands for it.
		cause = syscall.Errno(s.Errno)
		if s.Detail != "" {
			cause = &socket.ReasonError{Err: cause, Reason: s.Detail}
		}
	case s.Code == IOStatus_IO_STATUS_INVALID_ADDRESS && s.Detail != "":
		cause = &socket.AddrError{Addr: s.Address, Reason: s.Detail}
	case s.Code == IOStatus_IO_STATUS_POLLING_ERROR && s.Address != "":
		cause = &socket.PollerError{Poller: s.Address, Reason: s.Detail}
	case s.Code == IOStatus_IO_STATUS_NO_SUCH_HOST && s.Detail != "":
		cause = &socket.HostError{Host: s.Address, Reason: s.Detail}
	case causes[s.Code] != nil && s.Detail != "" && s.Address == "":
		cause = &socket.ReasonError{Err: causes[s.Code], Reason: s.Detail}
	case causes[s.Code] != nil:
		cause = causes[s.Code]
	case s.Errno != 0:
		// An errno that means something else on this OS: keep its number
		// in the text, not as a syscall.Errno.
		cause = errors.New("status " + s.Code.String() + " (errno " + strconv.Itoa(int(s.Errno)) + " on the node that sent it)")
	default:
		cause = errors.New("status " + s.Code.String())
	}
	op := s.Op
	if op == "" {
		op = "actornet"
	}
	if s.Addr.IsUnix() {
		return &socket.OpError{Op: op, Net: s.Net, Path: s.Addr.GetPath(), Err: cause}
	}
	addr, _ := s.Addr.AddrPort()
	return &socket.OpError{Op: op, Net: s.Net, Addr: addr, Err: cause}
}

// Err converts a poll result to a Go error: nil for an event, otherwise an
// OpError for "poll" wrapping os.ErrDeadlineExceeded (timeout), the errno
// (error), io.EOF (closed: the peer hung up) or socket.ErrCancelled.
func (r *PollResult) Err() error {
	if r == nil {
		return &socket.OpError{Op: "poll", Err: socket.ErrUnexpectedReply}
	}
	switch r.Status {
	case PollStatus_POLL_STATUS_EVENT:
		return nil
	case PollStatus_POLL_STATUS_TIMEOUT:
		return &socket.OpError{Op: "poll", Err: socket.ErrTimeout}
	case PollStatus_POLL_STATUS_CLOSED:
		if r.Error != nil {
			return r.Error.Err()
		}
		return &socket.OpError{Op: "poll", Err: io.EOF}
	case PollStatus_POLL_STATUS_CANCELLED:
		return &socket.OpError{Op: "poll", Err: socket.ErrCancelled}
	}
	if err := r.Error.Err(); err != nil {
		return err
	}
	return &socket.OpError{Op: "poll", Err: socket.ErrPolling}
}

// ConnectStatusOf is the ConnectStatus of a failed connect's error:
// refused, timeout, invalid_address (an address that cannot be used, a
// family the socket does not support) or error.
func ConnectStatusOf(err error) ConnectStatus {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return ConnectStatus_CONNECT_STATUS_REFUSED
	case errors.Is(err, syscall.ETIMEDOUT):
		return ConnectStatus_CONNECT_STATUS_TIMEOUT
	case errors.Is(err, socket.ErrInvalidArgument), errors.Is(err, syscall.EAFNOSUPPORT):
		return ConnectStatus_CONNECT_STATUS_INVALID_ADDRESS
	}
	return ConnectStatus_CONNECT_STATUS_ERROR
}
