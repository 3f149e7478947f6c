package tcp

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
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
	stopped  *actors.StopWait
	stopping atomic.Bool
}

// StartService starts a service on addr with handler per connection; opts
// are Serve's.
func StartService(ctx context.Context, sys *actors.System, addr string, handler Handler, opts ...ListenOption) (*Service, error) {
	if err := checkHandler(handler); err != nil {
		return nil, &socket.OpError{Op: "listen", Net: "tcp", Err: err}
	}
	cfg := listenConfig{opts: &messages.Options{ReuseAddr: true}}
	for _, o := range opts {
		o(&cfg)
	}
	server := newServerConfig(handler, cfg.serverOpts)
	cmd := &messages.Listen{HostPort: addr, Backlog: cfg.backlog, Options: cfg.opts, PushMode: true}
	if ap, named, err := actors.ResolveLocal(ctx, addr); err != nil {
		return nil, &socket.OpError{Op: "listen", Net: "tcp", Err: err}
	} else if named {
		cmd.HostPort, cmd.Local = "", messages.NewEndpoint(ap)
	}
	if sys.Stopped() {
		return nil, actors.ErrSystemStopped
	}
	stopped := actors.NewStopWait()
	props := actor.PropsFromProducer(func() actor.Actor { return &serviceActor{sys: sys, server: server, stopped: stopped} },
		actor.WithSupervisor(actors.StoppingStrategy()))
	s := &Service{sys: sys, pid: sys.Root().Spawn(props), stopped: stopped}
	res, err := actors.Request[*messages.ListenResult](sys.Root(), s.pid, cmd).Wait(ctx)
	if err == nil {
		err = res.GetStatus().Err()
	}
	if err != nil {
		sys.Root().Stop(s.pid)
		_ = s.stopped.Wait(ctx)
		return nil, err
	}
	return s, nil
}

// Info returns the service's address, current listener, restarts and live
// connections.
func (s *Service) Info(ctx context.Context) (*messages.ServiceInfo, error) {
	return actors.Request[*messages.ServiceInfo](s.sys.Root(), s.pid, &messages.GetServiceInfo{}).Wait(ctx)
}

// Addr returns the address the service listens on.
func (s *Service) Addr(ctx context.Context) (netip.AddrPort, error) {
	in, err := s.Info(ctx)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return in.GetLocal().AddrPort()
}

// Stop drains the service (see Service) with grace for the connections to
// flush, then stops it. It reports how many connections closed cleanly
// and how many were aborted. It returns by ctx's deadline, saying so if
// the service had not stopped by then (it goes on stopping); calling it
// again waits for the same stop.
func (s *Service) Stop(ctx context.Context, grace time.Duration) (*messages.Drained, error) {
	ms, ok := actors.TimeoutMS(grace)
	if !ok {
		return nil, &socket.OpError{Op: "drain", Err: socket.ErrInvalidArgument}
	}
	if s.stopping.Swap(true) {
		// Stopped already, or stopping: wait for it, as the first did.
		if err := s.stopped.Wait(ctx); err != nil {
			return nil, fmt.Errorf("tcp service did not stop by the deadline: %w", err)
		}
		return nil, nil
	}
	res, derr := actors.Request[*messages.Drained](s.sys.Root(), s.pid, &messages.Drain{GraceMs: ms}).Wait(ctx)
	s.sys.Root().Stop(s.pid)
	if err := s.stopped.Wait(ctx); err != nil {
		return res, fmt.Errorf("tcp service did not stop by the deadline: %w", err)
	}
	if derr != nil {
		return res, fmt.Errorf("tcp service stopped without draining: %w", derr)
	}
	return res, nil
}

// ListenerRestarted is published (as *ListenerRestarted) on the actor
// system's event stream when a service replaces a crashed listener.
type ListenerRestarted struct {
	Service, Old, New *actor.PID
	Addr              netip.AddrPort
}

// serviceActor supervises the listener (its child) and watches every
// connection the listener reports.
type serviceActor struct {
	sys      *actors.System
	server   *serverConfig
	listen   *messages.Listen
	listener *actor.PID
	local    netip.AddrPort
	restarts uint64
	conns    map[string]*actor.PID
	draining *drain
	stopped  *actors.StopWait
}

type drain struct {
	reply   actors.Replier
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
			actors.StopTimer(a.draining.timer)
		}
	default:
		cmd, reply, ok := actors.RequestOf(ctx)
		if !ok {
			return
		}
		switch cmd := cmd.(type) {
		case *messages.Listen:
			a.listen = cmd
			a.startListener(ctx, reply)
		case *messages.GetServiceInfo:
			reply.Reply(&messages.ServiceInfo{Local: messages.NewEndpoint(a.local), Listener: messages.NewRef(a.listener),
				Restarts: a.restarts, Live: uint64(len(a.conns))})
		case *messages.Drain:
			a.startDrain(ctx, cmd, reply)
		default:
			actors.Reject(reply, cmd, messages.IOStatus_IO_STATUS_INVALID_ARGUMENT)
		}
	}
}

// startListener spawns a listener child and has it listen; the answer is
// handled inside this actor (ReenterAfter), never by blocking it.
func (a *serviceActor) startListener(ctx actor.Context, reply actors.Replier) {
	a.listener = ctx.Spawn(listenerProps(a.sys, a.server, ctx.Self()))
	f := actors.Request[*messages.ListenResult](ctx, a.listener, a.listen)
	actors.ReenterAfter(ctx, f, func(res *messages.ListenResult, err error) {
		if err == nil && res.GetStatus().Err() == nil && !a.local.IsValid() {
			a.local, _ = res.GetLocal().AddrPort()
			// A restarted listener re-binds exactly this address.
			a.listen = &messages.Listen{Local: res.GetLocal(), Backlog: a.listen.GetBacklog(), Options: a.listen.GetOptions(), PushMode: true}
		}
		if reply != nil {
			if err != nil {
				reply.Reply(err)
			} else {
				reply.Reply(res)
			}
		}
	})
}

func (a *serviceActor) terminated(ctx actor.Context, who *actor.PID) {
	if who.Equal(a.listener) {
		a.listener = nil
		if a.draining == nil && a.local.IsValid() && !a.sys.Stopped() {
			a.restarts++
			a.startListener(ctx, nil) // the listener crashed: serve on
			a.sys.Actors.EventStream.Publish(&ListenerRestarted{Service: ctx.Self(), Old: who, New: a.listener, Addr: a.local})
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

func (a *serviceActor) startDrain(ctx actor.Context, cmd *messages.Drain, reply actors.Replier) {
	if a.draining != nil {
		actors.Reject(reply, cmd, messages.IOStatus_IO_STATUS_CLOSED)
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
	a.draining.timer = time.AfterFunc(actors.Timeout(cmd.GetGraceMs()), func() { root.Send(self, drainDeadline{}) })
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
	actors.StopTimer(d.timer)
	d.reply.Reply(&messages.Drained{Closed: d.closed, Aborted: d.aborted})
	d.reply = nil
}
