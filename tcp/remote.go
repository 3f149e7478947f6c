package tcp

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/socket"
)

// The kinds of TCP socket actors another node may spawn on a system
// started with actors.WithRemote.
const (
	KindClient   = "tcp.client"
	KindListener = "tcp.listener"
)

func init() {
	actors.RegisterKind(KindClient, ClientProps)
	actors.RegisterKind(KindListener, ListenerProps)
}

// NewClientAt spawns a client actor on the node at node (the address of a
// system started with actors.WithRemote) and returns its handle: the
// socket lives on that node, and every method works as on a local client,
// each request and answer crossing as protobuf. sys must itself be started
// WithRemote, so that answers can reach it.
func NewClientAt(ctx context.Context, sys *actors.System, node string, opts ...Option) (*Client, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, &socket.OpError{Op: "socket", Net: "tcp", Err: err}
	}
	pid, err := actors.SpawnAt(ctx, sys, node, KindClient)
	if err != nil {
		return nil, err
	}
	return &Client{Socket: actors.SocketOf(sys, pid), opts: o}, nil
}

// DialAt is Dial on the node at node: NewClientAt, then Connect.
func DialAt(ctx context.Context, sys *actors.System, node, addr string, opts ...Option) (*Client, error) {
	c, err := NewClientAt(ctx, sys, node, opts...)
	if err != nil {
		return nil, err
	}
	return connectOrClose(ctx, c, addr)
}

// ListenAt is Listen on the node at node: the listening socket lives
// there, and the clients Accept returns live there too. Push mode (Serve)
// is local only: a handler's Props cannot cross nodes. A host name in addr
// is resolved here, by the caller.
func ListenAt(ctx context.Context, sys *actors.System, node, addr string, opts ...ListenOption) (*Listener, error) {
	cfg, err := newListenConfig(opts)
	if err != nil {
		return nil, &socket.OpError{Op: "listen", Net: "tcp", Err: err}
	}
	return listen(ctx, sys, addr, cfg, nil, func() (*actor.PID, error) {
		return actors.SpawnAt(ctx, sys, node, KindListener)
	})
}
