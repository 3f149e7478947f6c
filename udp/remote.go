package udp

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/socket"
)

// KindPeer is the kind of UDP peer actor another node may spawn on a
// system started with actors.WithRemote.
const KindPeer = "udp.peer"

func init() {
	actors.RegisterKind(KindPeer, func(sys *actors.System) *actor.Props { return PeerProps(sys) })
}

// NewPeerAt is NewPeer on the node at node (the address of a system
// started with actors.WithRemote): the socket lives there, and every
// method works as on a local peer, each request and answer crossing as
// protobuf. sys must itself be started WithRemote. A peer spawned on
// another node has the default socket options (they travel only with a
// Bind: use BindAt to set them).
func NewPeerAt(ctx context.Context, sys *actors.System, node string) (*Peer, error) {
	pid, err := actors.SpawnAt(ctx, sys, node, KindPeer)
	if err != nil {
		return nil, err
	}
	return &Peer{Socket: actors.SocketOf(sys, pid)}, nil
}

// DialAt is Dial on the node at node (with the default socket options, as
// NewPeerAt).
func DialAt(ctx context.Context, sys *actors.System, node, addr string) (*Peer, error) {
	p, err := NewPeerAt(ctx, sys, node)
	if err != nil {
		return nil, err
	}
	return connectOrClose(ctx, p, addr)
}

// BindAt is Bind on the node at node (the address of a system started with
// actors.WithRemote): the socket lives there, and every method works as on
// a local peer, each request and answer crossing as protobuf. sys must
// itself be started WithRemote. Push mode (Serve) is local only.
func BindAt(ctx context.Context, sys *actors.System, node, addr string, opts ...Option) (*Peer, error) {
	o, err := checkOptions(opts)
	if err != nil {
		return nil, &socket.OpError{Op: "bind", Net: "udp", Err: err}
	}
	pid, err := actors.SpawnAt(ctx, sys, node, KindPeer)
	if err != nil {
		return nil, err
	}
	return bindSpawned(ctx, sys, pid, addr, o)
}
