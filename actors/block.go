package actors

import (
	"context"
	"fmt"
	"time"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// Remaining is the time left before ctx's deadline, as a request's
// timeout: 0 (none) when ctx has no deadline, at least a millisecond when
// it has one, even one already past (the socket actor then answers
// timeout at once).
func Remaining(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return max(time.Until(dl), time.Millisecond)
}

// Block runs one blocking call of a handle: it starts the request with
// async and awaits the answer with ctx (see Await), which withdraws the
// request when ctx ends. A request to another node also gets ctx's
// deadline as its timeout (a local one needs no timer of its own).
// Whichever runs out first, the actor's timer or ctx, the caller gets the
// same error: an OpError for op wrapping
// socket.ErrTimeout, which errors.Is matches with both
// os.ErrDeadlineExceeded and context.DeadlineExceeded. A cancelled ctx
// gives an OpError wrapping context.Canceled.
func Block[T any](ctx context.Context, s *Socket, op string, async func(timeout time.Duration) *Future[T]) (T, error) {
	var zero T
	switch {
	case s == nil || s.pid == nil || s.sys == nil:
		return zero, &socket.OpError{Op: op, Err: errNoSocket}
	case ctx == nil:
		return zero, &socket.OpError{Op: op, Err: errNilContext}
	case ctx.Err() != nil: // ended already: send nothing
		return zero, contextErr(op, ctx.Err())
	}
	// A local actor needs no timer of its own for ctx's deadline: Await
	// withdraws the request when ctx ends, and the actor answers it with
	// what it did (the bytes sent, a RecvExact's prefix). A remote one
	// gets the deadline, as the withdrawal crosses the network.
	timeout := time.Duration(0)
	if s.pid.Address != s.sys.Actors.ProcessRegistry.Address {
		timeout = Remaining(ctx)
	}
	v, err := Await(ctx, s.sys, s.pid, async(timeout))
	if err != nil && err == ctx.Err() {
		// The actor answered the withdrawal: its status names the
		// network and address the error should name too.
		if r, ok := any(v).(interface{ GetStatus() *messages.Status }); ok && r.GetStatus().GetNet() != "" {
			st := r.GetStatus()
			oe := contextErr(op, err).(*socket.OpError)
			oe.Net = st.GetNet()
			oe.Addr, _ = st.GetAddr().AddrPort()
			return v, oe
		}
	}
	return v, contextErr(op, err)
}

// errNoSocket is the error of a call on a handle that has no actor (a
// zero value, or nil), as Go's net answers a zero TCPConn with EINVAL.
var errNoSocket = fmt.Errorf("%w: no socket actor behind the handle (a zero value)", socket.ErrInvalidArgument)

// contextErr names op in an error that is a context's own.
func contextErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case err == context.DeadlineExceeded: // the context's, not the actor's
		return &socket.OpError{Op: op, Err: socket.ErrTimeout}
	case err == context.Canceled:
		return &socket.OpError{Op: op, Err: context.Canceled}
	}
	return err
}

// Precheck is what every constructor and blocking call of a handle checks
// before it sends anything: a system to run on (not nil, not stopped) and
// a context that has not ended. The error names op and network.
func Precheck(ctx context.Context, sys *System, op, network string) error {
	var err error
	switch {
	case ctx == nil:
		err = errNilContext
	case sys == nil:
		err = errNilSystem
	case sys.Stopped():
		err = ErrSystemStopped
	case ctx.Err() != nil:
		return contextErr(op, ctx.Err())
	default:
		return nil
	}
	return &socket.OpError{Op: op, Net: network, Err: err}
}

var (
	errNilSystem  = fmt.Errorf("%w: nil *actors.System", socket.ErrInvalidArgument)
	errNilContext = fmt.Errorf("%w: nil context", socket.ErrInvalidArgument)
)
