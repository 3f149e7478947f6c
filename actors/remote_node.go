package actors

import (
	"context"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/actornet/actornet/messages"
)

// startNode makes a system whose remote runs a node: pending requests to
// a node that goes away fail, and other nodes may spawn socket actors here.
func (s *System) startNode() error {
	// A node that goes away takes its answers with it: fail what this
	// node waits on there, instead of letting reply processes wait for
	// ever (a remote Accept may rightly wait for hours; a lost node may not).
	pending := remotePendingOf(s.Actors)
	pending.mu.Lock()
	pending.linkError = s.guard.dialError
	pending.mu.Unlock()
	node, err := s.Actors.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
		return &nodeActor{sys: s, opened: map[string]map[string]*actor.PID{}}
	}), NodeName)
	if err != nil {
		return err
	}
	s.Actors.EventStream.Subscribe(func(evt any) {
		if ev, ok := evt.(*remote.EndpointTerminatedEvent); ok {
			pending.fail(ev.Address, s.guard.dialError(ev.Address))
			s.Actors.Root.Send(node, nodeLost{addr: ev.Address})
		}
	})
	return nil
}

// nodeActor spawns socket actors for other nodes, and closes them when
// the node that asked for them is lost: a caller that crashed, or whose
// link broke, leaves nothing open here. It watches each one to forget it
// when it stops.
type nodeActor struct {
	sys    *System
	opened map[string]map[string]*actor.PID // caller's address → socket actors by id
}

// nodeLost tells the node actor that the link to the node at addr ended
// (remote.EndpointTerminatedEvent).
type nodeLost struct{ addr string }

func (a *nodeActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.Spawn:
		if ctx.Sender() != nil {
			a.spawn(ctx, m)
		}
	case *actor.Terminated:
		for addr, pids := range a.opened {
			delete(pids, m.GetWho().GetId())
			if len(pids) == 0 {
				delete(a.opened, addr)
			}
		}
	case nodeLost:
		pids := a.opened[m.addr]
		if len(pids) == 0 {
			return
		}
		delete(a.opened, m.addr)
		a.sys.Actors.Logger().Info("actornet: node lost: closing the sockets it opened here", "node", m.addr, "sockets", len(pids))
		for _, pid := range pids {
			ctx.Unwatch(pid)
			ctx.Stop(pid)
		}
	}
}

func (a *nodeActor) spawn(ctx actor.Context, m *messages.Spawn) {
	res := &messages.Spawned{Status: &messages.Status{Op: "spawn"}}
	if props, ok := kinds.Load(m.GetKind()); !ok {
		res.Status.Code = messages.IOStatus_IO_STATUS_INVALID_ARGUMENT
		res.Status.Detail = fmt.Sprintf("no kind %q on this node: a node serves the kinds of the packages it imports (tcp: tcp.client, tcp.listener; udp: udp.peer) and those it registers (actors.RegisterKind)", m.GetKind())
	} else if pid, err := a.sys.rt.SpawnSocketActor(props.(func(*System) *actor.Props)(a.sys)); err != nil {
		res.Status.Code = messages.IOStatus_IO_STATUS_CLOSED
	} else {
		res.Ref = messages.NewRef(pid)
		caller := ctx.Sender().GetAddress()
		if a.opened[caller] == nil {
			a.opened[caller] = map[string]*actor.PID{}
		}
		a.opened[caller][pid.GetId()] = pid
		ctx.Watch(pid)
	}
	ctx.Respond(res)
}

// SpawnAt asks the node at addr to spawn a socket actor of kind and returns
// its PID, which the tcp and udp handles drive as if it were local.
func SpawnAt(ctx context.Context, sys *System, addr, kind string) (*actor.PID, error) {
	if err := Precheck(ctx, sys, "spawn", ""); err != nil {
		return nil, err
	}
	node := actor.NewPID(addr, NodeName)
	res, err := Request[*messages.Spawned](sys.Root(), node, &messages.Spawn{Kind: kind}).Wait(ctx)
	if err != nil {
		return nil, fmt.Errorf("actornet: spawn %s at %s: %w", kind, addr, err)
	}
	if err := res.GetStatus().Err(); err != nil {
		return nil, fmt.Errorf("actornet: spawn %s at %s: %w", kind, addr, err)
	}
	return res.GetRef().PID(), nil
}
