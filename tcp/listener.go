package tcp

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// Listener is the Go handle of a TCP listener actor. Accept answers with a
// Client for each connection, in the order the Accepts were made. Stopping
// or closing the listener cancels pending Accepts and closes only the
// listening socket: accepted clients live on. A Listener is safe for
// concurrent use.
type Listener struct {
	actors.Socket
	addr netip.AddrPort
	path string // the Unix socket path, for a Unix listener
}

// ListenOption configures the listening socket: of Listen and ListenAt,
// and of Serve and StartService (a ListenOption is a ServeOption too). An
// option given an invalid value makes the call fail with an error naming
// the option and the value (wrapping socket.ErrInvalidArgument).
type ListenOption interface {
	ServeOption
	applyListen(*listenConfig)
}

type listenConfig struct {
	backlog uint32
	opts    *messages.Options
	// accepted are the options of accepted connections: tcp.Options given
	// to Listen or Serve.
	accepted clientConfig
	err      error // the first invalid option
}

func defaultListenConfig() listenConfig {
	return listenConfig{opts: &messages.Options{ReuseAddr: true}, accepted: clientConfig{opts: defaultOptions()}}
}

// newListenConfig applies Listen's options; the error is that of the
// first invalid one (an *socket.OptionError).
func newListenConfig(opts []ListenOption) (listenConfig, error) {
	cfg := defaultListenConfig()
	for _, o := range opts {
		if o == nil {
			cfg.err = core.FirstError(cfg.err, errNilOption)
			continue
		}
		o.applyListen(&cfg)
	}
	cfg.err = core.FirstError(cfg.err, cfg.accepted.err)
	return cfg, cfg.err
}

// listenOption is a setting of the listening socket.
type listenOption func(*listenConfig)

func (o listenOption) applyListen(c *listenConfig) { o(c) }
func (o listenOption) applyServe(c *serveConfig) {
	o(&c.listen)
	c.fail(c.listen.err)
}

// invalidListen is a ListenOption whose value was invalid: it records err.
func invalidListen(err error) ListenOption {
	return listenOption(func(c *listenConfig) { c.err = core.FirstError(c.err, err) })
}

// WithBacklog sets the listen(2) backlog; zero means the kernel maximum
// (somaxconn, which also caps larger values). n must be from 0 to
// math.MaxInt32.
func WithBacklog(n int) ListenOption {
	if n < 0 || n > math.MaxInt32 {
		return invalidListen(badOption(fmt.Sprintf("WithBacklog(%d)", n), "must be from 0 (the kernel maximum) to 2147483647"))
	}
	return listenOption(func(c *listenConfig) { c.backlog = uint32(n) })
}

// WithReuseAddr sets SO_REUSEADDR (on by default: a restarted server can
// bind a port whose old connections are in TIME_WAIT).
func WithReuseAddr(on bool) ListenOption {
	return listenOption(func(c *listenConfig) { c.opts.ReuseAddr = on })
}

// WithReusePort sets SO_REUSEPORT: several listeners share one port and the
// kernel spreads connections across them.
func WithReusePort(on bool) ListenOption {
	return listenOption(func(c *listenConfig) { c.opts.ReusePort = on })
}

// WithV6Only sets IPV6_V6ONLY on an IPv6 listener: it then accepts no
// IPv4-mapped connections. Off by default (dual stack).
func WithV6Only(on bool) ListenOption {
	return listenOption(func(c *listenConfig) { c.opts.V6Only = on })
}

// ListenerProps returns the props of a listener actor, to spawn under a
// supervising actor; it listens on its first Listen command.
func ListenerProps(sys *actors.System) *actor.Props { return listenerProps(sys, nil, nil) }

func listenerProps(sys *actors.System, server *serverConfig, notify *actor.PID) *actor.Props {
	return core.SocketProps(sys.Runtime(), nil, func(c *core.Core) (core.SocketActor, core.Protocol) {
		a := newListenerActor(c, server, notify)
		return a, a.hooks()
	})
}

// Listen spawns a listener actor and has it listen on addr: "ip:port",
// "[ipv6]:port", ":port" (every interface) or "host:port" (the name is
// resolved with net.Resolver within ctx; the first address is used).
// Port 0 picks a free port: see Addr.
func Listen(ctx context.Context, sys *actors.System, addr string, opts ...ListenOption) (*Listener, error) {
	if err := actors.Precheck(ctx, sys, "listen", "tcp"); err != nil {
		return nil, err
	}
	cfg, err := newListenConfig(opts)
	if err != nil {
		return nil, &socket.OpError{Op: "listen", Net: "tcp", Err: err}
	}
	return listen(ctx, sys, addr, cfg, nil, nil)
}

// Serve is Listen in push mode: the listener accepts by itself and gives
// each connection one actor, which owns the socket and runs handler as its
// behaviour (see Handler for the events, Conn for what a handler can
// do, and PerConnection, ActorHandler and Register for its other forms).
// Messages other actors send to a connection's PID reach its handler.
// Push-mode settings: WithReadCredit, WithReadSize, WithWriteQueue,
// WithMaxConnections, WithAcceptBatch, WithKeepOpen, WithIdleTimeout,
// WithFraming, WithBlockingHandlers, WithHandlerSupervisor, WithTLS,
// WithHandshakeTimeout. Closing the listener closes only the listening
// socket: live connections go on.
func Serve(ctx context.Context, sys *actors.System, addr string, handler Handler, opts ...ServeOption) (*Listener, error) {
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
	return listen(ctx, sys, addr, cfg.listen, cfg.server, nil)
}

// listen spawns a listener (with spawn, when given: on another node) and
// has it listen on addr; server is the push-mode configuration, nil for
// Listen.
func listen(ctx context.Context, sys *actors.System, addr string, cfg listenConfig, server *serverConfig, spawn func() (*actor.PID, error)) (*Listener, error) {
	if err := actors.Precheck(ctx, sys, "listen", "tcp"); err != nil {
		return nil, err
	}
	cmd, err := listenCommand(ctx, addr, cfg, server != nil)
	if err != nil {
		return nil, err
	}
	if spawn == nil {
		spawn = func() (*actor.PID, error) { return sys.Runtime().SpawnSocketActor(listenerProps(sys, server, nil)) }
	}
	pid, err := spawn()
	if err != nil {
		return nil, err
	}
	l := &Listener{Socket: actors.SocketOf(sys, pid)}
	res, err := actors.Await(ctx, sys, pid, actors.Request[*messages.ListenResult](sys.Root(), pid, cmd))
	if err == nil {
		err = res.GetStatus().Err()
	}
	if err != nil {
		_ = l.Close(context.Background())
		return nil, err
	}
	l.addr, _ = res.GetLocal().AddrPort()
	l.path = res.GetLocal().GetPath()
	return l, nil
}

// listenCommand builds the Listen command for addr, resolving a host name
// here, within ctx.
func listenCommand(ctx context.Context, addr string, cfg listenConfig, push bool) (*messages.Listen, error) {
	cmd := &messages.Listen{HostPort: addr, Backlog: cfg.backlog, Options: cfg.opts, PushMode: push, Accepted: cfg.accepted.opts}
	if path, ok := socket.UnixPath(addr); ok {
		if err := socket.CheckUnixPath(path); err != nil {
			return nil, &socket.OpError{Op: "listen", Net: "unix", Err: err}
		}
		cmd.HostPort, cmd.Local = "", messages.NewUnixEndpoint(path)
		return cmd, nil
	}
	if ap, named, err := core.ResolveLocal(ctx, addr); err != nil {
		return nil, &socket.OpError{Op: "listen", Net: "tcp", Err: err}
	} else if named {
		cmd.HostPort, cmd.Local = "", messages.NewEndpoint(ap)
	}
	return cmd, nil
}

// Stats returns a push-mode listener's counters.
func (l *Listener) Stats(ctx context.Context) (*messages.ListenerStats, error) {
	f := actors.Request[*messages.ListenerStats](l.System().Root(), l.PID(), &messages.GetStats{})
	return actors.Await(ctx, l.System(), l.PID(), f)
}

// Addr returns the address the listener is bound to (the zero AddrPort
// for a Unix listener: see Path).
func (l *Listener) Addr() netip.AddrPort { return l.addr }

// Path returns the Unix socket path a Unix listener is bound to ("@name"
// for an abstract one); "" for a TCP listener.
func (l *Listener) Path() string { return l.path }

// Address returns the address to dial the listener at, in the form Dial
// takes: "127.0.0.1:7000", "[::1]:7000" or "unix:/run/app.sock".
func (l *Listener) Address() string {
	if l.path != "" {
		return socket.UnixPrefix + l.path
	}
	return l.addr.String()
}

// AcceptAsync waits for the next connection, for at most timeout (0: no
// timeout).
func (l *Listener) AcceptAsync(timeout time.Duration) *actors.Future[*messages.AcceptResult] {
	cmd := &messages.Accept{}
	ms, ok := core.TimeoutMS(timeout)
	if !ok {
		return actors.Invalid[*messages.AcceptResult](cmd)
	}
	cmd.TimeoutMs = ms
	return actors.Request[*messages.AcceptResult](l.System().Root(), l.PID(), cmd)
}

// Accept waits within ctx for the next connection and returns its client,
// connected: its RemoteAddr is the peer's address. On timeout the error
// wraps os.ErrDeadlineExceeded; after Close or Shutdown (or while they
// run) it wraps net.ErrClosed or socket.ErrCancelled.
func (l *Listener) Accept(ctx context.Context) (*Client, error) {
	return l.Accepted(actors.Block(ctx, &l.Socket, "accept", l.AcceptAsync))
}

// Accepted turns the answer of an AcceptAsync into the accepted client:
// for callers that await the future themselves (inside an actor, with
// actors.ReenterAfter).
func (l *Listener) Accepted(res *messages.AcceptResult, err error) (*Client, error) {
	if err != nil {
		return nil, err
	}
	if err := res.GetStatus().Err(); err != nil {
		return nil, err
	}
	pid := res.GetClient().PID()
	if pid == nil {
		return nil, &socket.OpError{Op: "accept", Net: "tcp", Err: socket.ErrUnexpectedReply}
	}
	c := &Client{Socket: actors.SocketOf(l.System(), pid)}
	c.setAddrs(res.GetLocal(), res.GetRemote())
	return c, nil
}
