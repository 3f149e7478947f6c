package actors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// Socket is the Go handle of a plain socket actor: Poll, Shutdown,
// SetBlocking, Info and Close as messages to the actor that owns the fd.
// A Socket is a PID and a system; it is safe for concurrent use and cheap
// to copy.
type Socket struct {
	sys *System
	pid *actor.PID
}

// SpawnSocket spawns a socket actor that takes ownership of sock: from here
// on only the actor touches the fd, and stopping the actor closes it. On
// error sock is closed.
func SpawnSocket(sys *System, sock *socket.Socket) (*Socket, error) {
	if sock == nil {
		return nil, &socket.OpError{Op: "spawn", Err: fmt.Errorf("%w: nil socket", socket.ErrInvalidArgument)}
	}
	if err := Precheck(context.Background(), sys, "spawn", sock.Net()); err != nil {
		_ = sock.Close()
		return nil, err
	}
	pid, err := sys.rt.SpawnSocketActor(core.PlainProps(sys.rt, sock))
	if err != nil {
		_ = sock.Close()
		return nil, err
	}
	return &Socket{sys: sys, pid: pid}, nil
}

// SocketOf returns the handle of the socket actor at pid, for the shared
// commands; protocol handles (tcp.Client) embed it.
func SocketOf(sys *System, pid *actor.PID) Socket { return Socket{sys: sys, pid: pid} }

// System returns the system the actor runs on.
func (s *Socket) System() *System { return s.sys }

// PID returns the actor's PID, for sending it commands directly.
func (s *Socket) PID() *actor.PID { return s.pid }

// PollAsync asks for readiness op within timeout (0: no timeout).
func (s *Socket) PollAsync(op PollOp, timeout time.Duration) *Future[*messages.PollResult] {
	ms, ok := core.TimeoutMS(timeout)
	if !ok {
		return Invalid[*messages.PollResult](&messages.Poll{})
	}
	return Request[*messages.PollResult](s.sys.Root(), s.pid, &messages.Poll{Op: op, TimeoutMs: ms})
}

// Poll waits within ctx for readiness op (PollRead, PollWrite,
// PollReadWrite). It returns the poll status (PollEvent, PollTimeout,
// PollError, PollClosed, PollCancelled) and, for anything but an event,
// the error it stands for (errors.Is with os.ErrDeadlineExceeded, io.EOF
// for a hang-up, net.ErrClosed, socket.ErrCancelled, an errno).
func (s *Socket) Poll(ctx context.Context, op PollOp) (PollStatus, error) {
	res, err := Block(ctx, s, "poll", func(t time.Duration) *Future[*messages.PollResult] { return s.PollAsync(op, t) })
	switch {
	case err == nil:
		return res.GetStatus(), res.Err()
	case errors.Is(err, context.DeadlineExceeded):
		return PollTimeout, err
	}
	return PollCancelled, err
}

// ShutdownAsync shuts down one or both directions.
func (s *Socket) ShutdownAsync(how ShutdownHow) *Future[*messages.Status] {
	return Request[*messages.Status](s.sys.Root(), s.pid, &messages.Shutdown{How: how})
}

// Shutdown shuts down one or both directions (ShutdownRead, ShutdownWrite,
// ShutdownBoth).
func (s *Socket) Shutdown(ctx context.Context, how ShutdownHow) error {
	return statusErr(Await(ctx, s.sys, s.pid, s.ShutdownAsync(how)))
}

// SetBlocking records the blocking mode (the fd stays non-blocking; see Core).
func (s *Socket) SetBlocking(ctx context.Context, blocking bool) error {
	f := Request[*messages.Status](s.sys.Root(), s.pid, &messages.SetBlocking{Blocking: blocking})
	return statusErr(Await(ctx, s.sys, s.pid, f))
}

// Info returns the socket's description.
func (s *Socket) Info(ctx context.Context) (*messages.Info, error) {
	f := Request[*messages.Info](s.sys.Root(), s.pid, &messages.GetInfo{})
	in, err := Await(ctx, s.sys, s.pid, f)
	if err != nil {
		return nil, err
	}
	return in, in.GetStatus().Err()
}

// SocketStats returns the actor's I/O counters: bytes in and out, the
// reads and writes that moved them, and the failures.
func (s *Socket) SocketStats(ctx context.Context) (*messages.SocketStats, error) {
	f := Request[*messages.SocketStats](s.sys.Root(), s.pid, &messages.GetSocketStats{})
	return Await(ctx, s.sys, s.pid, f)
}

// CloseAsync closes the socket: pending requests are answered cancelled,
// the fd is closed and the actor stops.
func (s *Socket) CloseAsync() *Future[*messages.Status] {
	return Request[*messages.Status](s.sys.Root(), s.pid, &messages.Close{})
}

// Close closes the socket. A second Close returns an error wrapping
// net.ErrClosed.
func (s *Socket) Close(ctx context.Context) error {
	return statusErr(Await(ctx, s.sys, s.pid, s.CloseAsync()))
}

// Await waits for f with ctx. If ctx ends first, it asks the actor at pid
// to withdraw the request and waits for the actor's last word, so nothing
// stays parked in the actor and no answer is lost: a request the actor had
// already completed returns its result; a withdrawn one returns ctx's
// error (with whatever partial result the answer carried, such as the
// prefix a RecvExact had read).
func Await[T any](ctx context.Context, sys *System, pid *actor.PID, f *Future[T]) (T, error) {
	v, err := f.Wait(ctx)
	if err == nil || ctx.Err() == nil {
		return v, err
	}
	if v, err, done := f.Result(); done {
		return v, err
	}
	if f.remote != nil {
		withdrawRemote(sys, pid, f, ctx.Err())
	} else {
		sys.Root().Send(pid, &core.Withdrawal{Reply: f.replier()})
		<-f.Done() // the actor answers a withdrawal at once; a dead actor's dead letter does
	}
	v, err, _ = f.Result()
	if err != nil || cancelled(v) {
		return v, ctx.Err()
	}
	return v, nil
}

// cancelled reports whether an answer says the request was cancelled.
func cancelled(v any) bool {
	switch r := v.(type) {
	case *messages.PollResult:
		return r.GetStatus() == messages.PollStatus_POLL_STATUS_CANCELLED
	case *messages.ConnectResult:
		return r.GetError().GetCode() == messages.IOStatus_IO_STATUS_CANCELLED
	case interface{ GetStatus() *messages.Status }:
		return r.GetStatus().GetCode() == messages.IOStatus_IO_STATUS_CANCELLED
	case *messages.Status:
		return r.GetCode() == messages.IOStatus_IO_STATUS_CANCELLED
	}
	return false
}

func statusErr(st *messages.Status, err error) error {
	if err != nil {
		return err
	}
	return st.Err()
}
