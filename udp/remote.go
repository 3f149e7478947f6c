package udp

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
)

// KindPeer is the kind of UDP peer actor another node may spawn on a
// system started with actors.WithRemote.
const KindPeer = "udp.peer"

func init() {
	actors.RegisterKind(KindPeer, func(sys *actors.System) *actor.Props { return PeerProps(sys) })
}

// BindAt is Bind on the node at node (the address of a system started with
// actors.WithRemote): the socket lives there, and every method works as on
// a local peer, each request and answer crossing as protobuf. sys must
// itself be started WithRemote. Push mode (Serve) is local only.
func BindAt(ctx context.Context, sys *actors.System, node, addr string, opts ...Option) (*Peer, error) {
	pid, err := actors.SpawnAt(ctx, sys, node, KindPeer)
	if err != nil {
		return nil, err
	}
	return bindSpawned(ctx, sys, pid, addr, buildOptions(opts))
}
