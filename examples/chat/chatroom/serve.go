package chatroom

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/tcp"
)

// Server is one node's chat service: a push-mode listener whose
// connections are members of a room that is a cluster identity, and the
// node's door to that room.
type Server struct {
	sys     *actors.System
	l       *tcp.Listener
	door    *actor.PID
	lookups *sync.WaitGroup
}

// Serve serves room name on addr. sys must have been started
// actors.WithCluster with Kind() among its kinds (and Served including
// "actornet.", which it always does).
func Serve(ctx context.Context, sys *actors.System, addr, name string) (*Server, error) {
	if sys.Cluster() == nil {
		return nil, fmt.Errorf("chatroom: serve %s: the system is not a cluster member", name)
	}
	lookups := &sync.WaitGroup{}
	door := sys.Root().Spawn(actor.PropsFromProducer(func() actor.Actor {
		return &door{sys: sys, name: name, members: map[string]*actor.PID{}, lookups: lookups}
	}))
	members := tcp.PerConnection(func() tcp.Handler { return &member{door: door} })
	l, err := tcp.Serve(ctx, sys, addr, members, tcp.WithKeepOpen(true))
	if err != nil {
		sys.Root().Stop(door)
		return nil, err
	}
	return &Server{sys: sys, l: l, door: door, lookups: lookups}, nil
}

// Listener returns the server's listener.
func (s *Server) Listener() *tcp.Listener { return s.l }

// Room returns the PID of the room's activation as this node's door last
// found it; nil while it looks.
func (s *Server) Room(ctx context.Context) (*actor.PID, error) {
	d := time.Second
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl)
	}
	res, err := s.sys.Root().RequestFuture(s.door, &whereNow{}, d).Result()
	if err != nil {
		return nil, fmt.Errorf("chatroom: where is the room: %w", err)
	}
	return res.(*roomAt).pid, nil
}

// Close stops the listener and the door, and waits for a lookup of the
// room the door has running: Proto.Actor's cluster.Get cannot be
// cancelled, and waits up to 5 s for a node that does not answer. The
// connections the listener accepted end when the system stops.
func (s *Server) Close(ctx context.Context) error {
	err := s.l.Close(ctx)
	_ = s.sys.Root().StopFuture(s.door).Wait()
	s.lookups.Wait()
	return err
}

// Kinds is the kinds a chat node hosts, for actors.ClusterConfig.Kinds.
func Kinds() []*cluster.Kind { return []*cluster.Kind{Kind()} }
