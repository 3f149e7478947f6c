package udp

import (
	"context"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// serveConfig is a push-mode peer's handler and read settings.
type serveConfig struct {
	handler  *actor.Props
	strategy actor.SupervisorStrategy
	credit   int
	readSize int
	opts     []Option
}

// Push-mode defaults.
const (
	DefaultReadCredit = 64
	DefaultReadSize   = 2048
)

// ServeOption configures Serve.
type ServeOption func(*serveConfig)

// WithReadCredit sets how many Datagram messages the peer sends its
// handler before it stops reading until ResumeReading. While it does not
// read, the kernel buffers and then drops datagrams, and counts the drops.
func WithReadCredit(n int) ServeOption { return func(c *serveConfig) { c.credit = max(n, 1) } }

// WithReadSize sets the largest datagram delivered whole; a longer one is
// delivered cut, with Truncated set.
func WithReadSize(n int) ServeOption {
	return func(c *serveConfig) { c.readSize = min(max(n, 1), MaxDatagram+1) }
}

// WithHandlerSupervisor sets the strategy that supervises the handler
// (default: restart).
func WithHandlerSupervisor(s actor.SupervisorStrategy) ServeOption {
	return func(c *serveConfig) { c.strategy = s }
}

// WithSocketOptions sets the peer's socket options (buffers, reuse...).
func WithSocketOptions(opts ...Option) ServeOption {
	return func(c *serveConfig) { c.opts = append(c.opts, opts...) }
}

var errPushMode = fmt.Errorf("%w: push-mode peer delivers to its handler", socket.ErrInvalidArgument)

// Serve binds a push-mode peer on addr: its handler (the peer's child)
// receives each datagram as a Datagram message while it has read credit,
// and sends the peer (ctx.Parent()) SendTo to answer and ResumeReading to
// grant more credit. A slow handler makes the kernel drop datagrams, never
// the process grow: the drops are counted (Stats). The handler's death
// closes the peer.
func Serve(ctx context.Context, sys *actors.System, addr string, handler *actor.Props, opts ...ServeOption) (*Peer, error) {
	if handler == nil {
		return nil, &socket.OpError{Op: "serve", Net: "udp", Err: socket.ErrInvalidArgument}
	}
	props, o := pushProps(sys, handler, opts)
	pid, err := sys.SpawnSocketActor(props)
	if err != nil {
		return nil, err
	}
	return bindSpawned(ctx, sys, pid, addr, o)
}

// pushProps returns the props of a push-mode peer and its socket options.
func pushProps(sys *actors.System, handler *actor.Props, opts []ServeOption) (*actor.Props, *messages.Options) {
	cfg := &serveConfig{handler: handler, strategy: actor.DefaultSupervisorStrategy(), credit: DefaultReadCredit, readSize: DefaultReadSize}
	for _, o := range opts {
		o(cfg)
	}
	o := buildOptions(cfg.opts)
	props := actors.SocketProps(sys, nil, func(c *actors.Core) (actor.Actor, actors.Hooks) {
		a := newPeerActor(c, o, cfg)
		return a, a.hooks()
	}).Configure(actor.WithSupervisor(cfg.strategy))
	return props, o
}

// Stats returns a push-mode peer's counters.
func (p *Peer) Stats(ctx context.Context) (*messages.PeerStats, error) {
	return actors.Await(ctx, p.System(), p.PID(), request[*messages.PeerStats](p, &messages.GetStats{}))
}

func (a *peerActor) startPush() {
	sock := a.core.Socket()
	if err := sock.SetRecvDrops(true); err != nil {
		a.core.System().Actors.Logger().Error("udp: SO_RXQ_OVFL not available: drops are not counted", "err", err)
	}
	a.handler = a.ctx.Spawn(a.push.handler)
	a.credit = a.push.credit
	a.core.Want(poller.Readable)
	a.servePush()
}

// servePush reads datagrams while the handler has credit and sends each as
// a Datagram; the kernel's drop count rides on the datagrams.
func (a *peerActor) servePush() {
	sock := a.core.Socket()
	root := a.core.System().Root()
	for a.credit > 0 && sock != nil {
		sp := scratch.Get().(*[]byte)
		p := (*sp)[:a.push.readSize]
		n, from, drops, dropsOK, err := sock.RecvMsg(p)
		a.core.Count(true, n, err)
		var data []byte
		if err == nil {
			data = append([]byte(nil), p[:min(n, len(p))]...)
		}
		scratch.Put(sp)
		if err == unix.EAGAIN {
			return
		}
		if err != nil {
			return // an error of one datagram (an ICMP report): read on at the next edge
		}
		if dropsOK {
			a.core.Counters().Drops.Store(uint64(drops))
		}
		truncated := n > len(p)
		if truncated {
			a.stats.truncated++
		}
		a.stats.received++
		a.credit--
		root.Send(a.handler, &messages.Datagram{Sender: messages.NewEndpoint(from), Data: data, Truncated: truncated})
	}
}
