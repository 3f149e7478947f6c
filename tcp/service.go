package tcp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// Service is a supervised push-mode TCP server: one actor that owns a
// listener as its child. If the listener crashes, the service spawns a new
// one on the same address (the port it bound first), so new connections
// keep being served; connections already open are not the listener's
// children and live on untouched. Stop drains: no new connections, every
// connection flushes its writes and closes, and those still open at the
// grace deadline are aborted. A Service is safe for concurrent use.
type Service struct {
	sys      *actors.System
	pid      *actor.PID
	addr     netip.AddrPort
	path     string
	stopped  *core.StopWait
	stopping atomic.Bool
}

// StartService starts a service on addr with handler per connection; opts
// are Serve's.
func StartService(ctx context.Context, sys *actors.System, addr string, handler Handler, opts ...ServeOption) (*Service, error) {
	if err := actors.Precheck(ctx, sys, "listen", "tcp"); err != nil {
		return nil, err
	}
	if err := checkHandler(handler); err != nil {
		return nil, &socket.OpError{Op: "listen", Net: "tcp", Err: err}
	}
	cfg, err := newServeConfig(sys, handler, opts)
	if err != nil {
		return nil, &socket.OpError{Op: "listen", Net: "tcp", Err: err}
	}
	server := cfg.server
	cmd, err := listenCommand(ctx, addr, cfg.listen, true)
	if err != nil {
		return nil, err
	}
	stopped := core.NewStopWait()
	props := actor.PropsFromProducer(func() actor.Actor { return &serviceActor{sys: sys, server: server, stopped: stopped} },
		actor.WithSupervisor(actors.StoppingStrategy()))
	// Named as socket actors are (core.SecretName): another node cannot
	// guess a service's PID and stop it.
	pid, err := sys.Root().SpawnNamed(props, core.SecretName())
	if err != nil {
		return nil, err
	}
	s := &Service{sys: sys, pid: pid, stopped: stopped}
	res, err := actors.Request[*messages.ListenResult](sys.Root(), s.pid, cmd).Wait(ctx)
	if err == nil {
		err = res.GetStatus().Err()
	}
	if err != nil {
		sys.Root().Stop(s.pid)
		_ = s.stopped.Wait(ctx)
		return nil, err
	}
	s.addr, _ = res.GetLocal().AddrPort()
	s.path = res.GetLocal().GetPath()
	return s, nil
}

// Info returns the service's address, current listener, restarts and live
// connections.
func (s *Service) Info(ctx context.Context) (*messages.ServiceInfo, error) {
	return actors.Request[*messages.ServiceInfo](s.sys.Root(), s.pid, &messages.GetServiceInfo{}).Wait(ctx)
}

// Addr returns the address the service listens on (a restarted listener
// binds the same one); the zero AddrPort for a Unix service (see Path).
func (s *Service) Addr() netip.AddrPort { return s.addr }

// Path returns the Unix socket path the service listens on; "" for TCP.
func (s *Service) Path() string { return s.path }

// Address returns the address to dial the service at, in the form Dial
// takes: "127.0.0.1:7000" or "unix:/run/app.sock".
func (s *Service) Address() string {
	if s.path != "" {
		return socket.UnixPrefix + s.path
	}
	return s.addr.String()
}

// Stop drains the service (see Service) and stops it: connections flush
// their writes and close, until shortly before ctx's deadline (Stop keeps
// a fifth of the time left, at most 200 ms, to abort what is left and
// stop, so that it returns by the deadline); those still open then are
// aborted. Without a deadline it waits for every connection to close, or
// for ctx to be cancelled. It returns nil when every connection closed
// cleanly, and otherwise an error saying how many were aborted (wrapping
// ctx's error). It returns shortly after ctx is done even if the service
// has not stopped by then (it goes on stopping); calling it again waits
// for the same stop.
func (s *Service) Stop(ctx context.Context) error {
	if s.stopping.Swap(true) {
		// Stopped already, or stopping: wait for it, as the first did.
		if err := s.stopped.Wait(ctx); err != nil {
			return fmt.Errorf("tcp service did not stop by the deadline: %w", err)
		}
		return nil
	}
	grace := drainGraceMS(ctx)
	if ctx.Err() != nil {
		grace = 1 // ended already: abort at once what does not close at once
	}
	f := actors.Request[*messages.Drained](s.sys.Root(), s.pid, &messages.Drain{GraceMs: grace})
	select {
	case <-f.Done():
	case <-ctx.Done():
		s.sys.Root().Send(s.pid, drainDeadline{}) // abort what is left
	}
	wait, cancel := context.WithTimeout(context.Background(), stopBound)
	defer cancel()
	res, derr := f.Wait(wait)
	s.sys.Root().Stop(s.pid)
	if err := s.stopped.Wait(wait); err != nil {
		return fmt.Errorf("tcp service did not stop by the deadline: %w", ctx.Err())
	}
	switch {
	case derr != nil:
		return fmt.Errorf("tcp service stopped without draining: %w", derr)
	case res.GetAborted() > 0:
		cause := ctx.Err()
		if cause == nil {
			cause = context.DeadlineExceeded
		}
		return fmt.Errorf("tcp service stopped: %d connections aborted at the deadline, %d closed cleanly: %w",
			res.GetAborted(), res.GetClosed(), cause)
	}
	return nil
}

// stopBound bounds how long Stop waits, after ctx is done, for the
// service to abort what is left and stop.
const stopBound = time.Second

// drainGraceMS is the drain's grace for a Stop within ctx: up to ctx's
// deadline, less a reserve for aborting what is left and stopping; 0 (no
// deadline of its own) when ctx has none.
func drainGraceMS(ctx context.Context) uint32 {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	left := time.Until(dl)
	ms, _ := core.TimeoutMS(max(left-min(left/5, 200*time.Millisecond), time.Millisecond))
	return ms
}

// ListenerRestarted is published (as *ListenerRestarted) on the actor
// system's event stream when a service replaces a crashed listener.
type ListenerRestarted struct {
	Service, Old, New *actor.PID
	// Addr is the address it listens on again; Path the Unix socket path
	// instead, for a Unix service.
	Addr netip.AddrPort
	Path string
}

// serviceActor supervises the listener (its child) and watches every
// connection the listener reports.
type serviceActor struct {
	sys      *actors.System
	server   *serverConfig
	listen   *messages.Listen
	listener *actor.PID
	local    netip.AddrPort
	path     string // a Unix service's path
	bound    bool   // the first listener listened: restart on a crash
	restarts uint64
	conns    map[string]*actor.PID
	draining *drain
	stopped  *core.StopWait
}

type drain struct {
	reply   core.Replier
	closed  uint64
	aborted uint64
	timer   *time.Timer
}

// drainDeadline is the message a drain's timer sends.
type drainDeadline struct{}

func (a *serviceActor) Receive(ctx actor.Context) {
	if actors.HandleContinuation(ctx) {
		return
	}
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.conns = map[string]*actor.PID{}
	case *messages.ConnectionOpened:
		pid := m.GetConnection().PID()
		a.conns[pid.Id] = pid
		ctx.Watch(pid)
	case *actor.Terminated:
		a.terminated(ctx, m.GetWho())
	case drainDeadline:
		a.abortRest(ctx)
	case *actor.Stopped:
		a.stopped.Close()
	case *actor.Stopping:
		if a.draining != nil {
			core.StopTimer(a.draining.timer)
		}
	default:
		cmd, reply, ok := core.RequestOf(ctx)
		if !ok {
			return
		}
		switch cmd := cmd.(type) {
		case *messages.Listen:
			a.listen = cmd
			a.startListener(ctx, reply)
		case *messages.GetServiceInfo:
			local := messages.NewEndpoint(a.local)
			if a.path != "" {
				local = messages.NewUnixEndpoint(a.path)
			}
			reply.Reply(&messages.ServiceInfo{Local: local, Listener: messages.NewRef(a.listener),
				Restarts: a.restarts, Live: uint64(len(a.conns))})
		case *messages.Drain:
			a.startDrain(ctx, cmd, reply)
		default:
			core.Reject(reply, cmd, messages.IOStatus_IO_STATUS_INVALID_ARGUMENT)
		}
	}
}

// startListener spawns a listener child and has it listen; the answer is
// handled inside this actor (ReenterAfter), never by blocking it.
func (a *serviceActor) startListener(ctx actor.Context, reply core.Replier) {
	a.listener = ctx.Spawn(listenerProps(a.sys, a.server, ctx.Self()))
	f := actors.Request[*messages.ListenResult](ctx, a.listener, a.listen)
	actors.ReenterAfter(ctx, f, func(res *messages.ListenResult, err error) {
		if err == nil && res.GetStatus().Err() == nil && !a.bound {
			a.bound = true
			a.local, _ = res.GetLocal().AddrPort()
			a.path = res.GetLocal().GetPath()
			// A restarted listener re-binds exactly this address, with the
			// same options for itself and its connections.
			a.listen = &messages.Listen{Local: res.GetLocal(), Backlog: a.listen.GetBacklog(), Options: a.listen.GetOptions(),
				Accepted: a.listen.GetAccepted(), PushMode: true}
		}
		if reply != nil {
			if err != nil {
				reply.Reply(err)
			} else {
				reply.Reply(res)
			}
		} else if err := errors.Join(err, res.GetStatus().Err()); err != nil {
			// A restart that could not listen: nobody waits for the answer.
			a.sys.Actors.Logger().Error("tcp: service could not listen again", "addr", a.listen.GetLocal().Address(), "err", err)
		}
	})
}

func (a *serviceActor) terminated(ctx actor.Context, who *actor.PID) {
	if who.Equal(a.listener) {
		a.listener = nil
		if a.draining == nil && a.bound && !a.sys.Stopped() {
			a.restarts++
			a.startListener(ctx, nil) // the listener crashed: serve on
			a.sys.Actors.EventStream.Publish(&ListenerRestarted{Service: ctx.Self(), Old: who, New: a.listener, Addr: a.local, Path: a.path})
		}
		return
	}
	if _, ok := a.conns[who.Id]; !ok {
		return
	}
	delete(a.conns, who.Id)
	if a.draining != nil {
		a.draining.closed++
		a.finishDrain()
	}
}

func (a *serviceActor) startDrain(ctx actor.Context, cmd *messages.Drain, reply core.Replier) {
	if a.draining != nil {
		core.Reject(reply, cmd, messages.IOStatus_IO_STATUS_CLOSED)
		return
	}
	a.draining = &drain{reply: reply}
	if a.listener != nil {
		ctx.Send(a.listener, &messages.Close{}) // no new connections
	}
	for _, conn := range a.conns {
		ctx.Send(conn, &messages.Close{}) // flush, then FIN
	}
	self, root := ctx.Self(), a.sys.Root()
	if cmd.GetGraceMs() > 0 {
		a.draining.timer = time.AfterFunc(core.Timeout(cmd.GetGraceMs()), func() { root.Send(self, drainDeadline{}) })
	}
	a.finishDrain()
}

// abortRest aborts the connections still open at the grace deadline.
func (a *serviceActor) abortRest(ctx actor.Context) {
	if a.draining == nil {
		return
	}
	for id, conn := range a.conns {
		ctx.Send(conn, &messages.Abort{})
		delete(a.conns, id)
		a.draining.aborted++
	}
	a.finishDrain()
}

func (a *serviceActor) finishDrain() {
	d := a.draining
	if d == nil || len(a.conns) > 0 || d.reply == nil {
		return
	}
	core.StopTimer(d.timer)
	d.reply.Reply(&messages.Drained{Closed: d.closed, Aborted: d.aborted})
	d.reply = nil
}
