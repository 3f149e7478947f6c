package udp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// Service is a supervised push-mode UDP server: one actor that owns a
// push-mode peer as its child. If the peer dies (it crashed, or its
// handler closed it or was stopped by its strategy), the service binds a
// new one on the same address, so the service keeps answering; datagrams
// that reached the old socket's buffer are lost with it, as the kernel
// would drop them for a full buffer. Stop closes the peer and ends the
// service. A Service is safe for concurrent use.
type Service struct {
	sys     *actors.System
	pid     *actor.PID
	addr    netip.AddrPort
	path    string
	stopped *core.StopWait
}

// PeerRestarted is published (as *PeerRestarted) on the actor system's
// event stream when a service replaces a dead peer.
type PeerRestarted struct {
	Service, Old, New *actor.PID
	// Addr is the address the new peer is bound to; Path the Unix socket
	// path instead, for a Unix service.
	Addr netip.AddrPort
	Path string
}

// StartService starts a UDP service on addr with h as its peer's
// behaviour (see Serve; PerSocket gives each new peer a fresh handler);
// opts are Serve's.
func StartService(ctx context.Context, sys *actors.System, addr string, h Handler, opts ...ServeOption) (*Service, error) {
	if err := actors.Precheck(ctx, sys, "bind", "udp"); err != nil {
		return nil, err
	}
	if err := checkHandler(h); err != nil {
		return nil, &socket.OpError{Op: "serve", Net: "udp", Err: err}
	}
	peer, o, err := pushProps(sys, h, opts) // each spawn is a new peer; o goes with the first Bind
	if err != nil {
		return nil, &socket.OpError{Op: "bind", Net: "udp", Err: err}
	}
	stopped := core.NewStopWait()
	svc := actor.PropsFromProducer(func() actor.Actor { return &serviceActor{sys: sys, peer: peer, stopped: stopped} },
		actor.WithSupervisor(actors.StoppingStrategy()))
	// Named as socket actors are (core.SecretName): another node cannot
	// guess a service's PID and stop it.
	pid, err := sys.Root().SpawnNamed(svc, core.SecretName())
	if err != nil {
		return nil, err
	}
	s := &Service{sys: sys, pid: pid, stopped: stopped}
	res, err := actors.Request[*messages.BindResult](sys.Root(), s.pid, &messages.Bind{HostPort: addr, Options: o}).Wait(ctx)
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

// Info returns the service's address, current peer (as listener) and
// restarts.
func (s *Service) Info(ctx context.Context) (*messages.ServiceInfo, error) {
	return actors.Request[*messages.ServiceInfo](s.sys.Root(), s.pid, &messages.GetServiceInfo{}).Wait(ctx)
}

// Addr returns the address the service is bound to (a new peer binds the
// same one); the zero AddrPort for a Unix service (see Path).
func (s *Service) Addr() netip.AddrPort { return s.addr }

// Path returns the Unix socket path the service is bound to; "" for UDP.
func (s *Service) Path() string { return s.path }

// Stop closes the peer and stops the service. It returns by ctx's
// deadline, saying so if the service had not stopped by then (it goes on
// stopping); calling it again waits for the same stop.
func (s *Service) Stop(ctx context.Context) error {
	s.sys.Root().Stop(s.pid)
	if err := s.stopped.Wait(ctx); err != nil {
		return fmt.Errorf("udp service did not stop by the deadline: %w", err)
	}
	return nil
}

// serviceActor supervises the push-mode peer, its child.
type serviceActor struct {
	sys      *actors.System
	peer     *actor.Props
	bind     *messages.Bind
	pid      *actor.PID
	bound    bool // the current peer is bound: its death is worth a restart
	local    netip.AddrPort
	path     string // a Unix service's path
	first    bool   // the first peer bound: later ones bind its address
	restarts uint64
	stopping bool
	stopped  *core.StopWait
}

func (a *serviceActor) Receive(ctx actor.Context) {
	if actors.HandleContinuation(ctx) {
		return
	}
	switch m := ctx.Message().(type) {
	case *actor.Stopping:
		a.stopping = true
	case *actor.Stopped:
		a.stopped.Close()
	case *actor.Terminated:
		if !m.GetWho().Equal(a.pid) {
			return
		}
		old, bound := a.pid, a.bound
		a.pid, a.bound = nil, false
		// Only a peer that got bound is replaced: one that dies before that
		// would die again, and the service must not spin.
		if bound && !a.stopping && a.first && !a.sys.Stopped() {
			a.restarts++
			a.startPeer(ctx, &restarted{old: old})
		}
	default:
		cmd, reply, ok := core.RequestOf(ctx)
		if !ok {
			return
		}
		switch cmd := cmd.(type) {
		case *messages.Bind:
			if a.bind != nil {
				core.Reject(reply, cmd, messages.IOStatus_IO_STATUS_INVALID_ARGUMENT)
				return
			}
			a.bind = cmd
			a.startPeer(ctx, reply)
		case *messages.GetServiceInfo:
			local := messages.NewEndpoint(a.local)
			if a.path != "" {
				local = messages.NewUnixEndpoint(a.path)
			}
			reply.Reply(&messages.ServiceInfo{Local: local, Listener: messages.NewRef(a.pid), Restarts: a.restarts})
		default:
			core.Reject(reply, cmd, messages.IOStatus_IO_STATUS_INVALID_ARGUMENT)
		}
	}
}

// restarted replies to a restart's Bind: once the new peer is bound, the
// restart is published.
type restarted struct{ old *actor.PID }

func (r *restarted) Reply(any) {}

// startPeer spawns the peer and binds it; the answer is handled inside
// this actor (ReenterAfter), never by blocking it.
func (a *serviceActor) startPeer(ctx actor.Context, reply core.Replier) {
	a.pid = ctx.Spawn(a.peer)
	f := actors.Request[*messages.BindResult](ctx, a.pid, a.bind)
	pid, self := a.pid, ctx.Self()
	actors.ReenterAfter(ctx, f, func(res *messages.BindResult, err error) {
		if err == nil && res.GetStatus().Err() == nil && a.pid.Equal(pid) {
			a.bound = true
		}
		if r, ok := reply.(*restarted); ok {
			if err == nil && res.GetStatus().Err() == nil {
				a.sys.Actors.EventStream.Publish(&PeerRestarted{Service: self, Old: r.old, New: pid, Addr: a.local, Path: a.path})
			} else {
				a.sys.Actors.Logger().Error("udp: service could not bind a new peer", "addr", a.local, "err", errors.Join(err, res.GetStatus().Err()))
			}
			return
		}
		if err == nil && res.GetStatus().Err() == nil && !a.first {
			a.first = true
			a.local, _ = res.GetLocal().AddrPort()
			a.path = res.GetLocal().GetPath()
			// A new peer binds exactly this address.
			a.bind = &messages.Bind{Local: res.GetLocal(), Options: a.bind.GetOptions()}
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
