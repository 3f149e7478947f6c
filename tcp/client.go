package tcp

import (
	"context"
	"crypto/tls"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// Client is the Go handle of a TCP client actor: a connection made by
// Dial (or NewClient and Connect) or returned by Listener.Accept. Every
// method is a request to the actor: a message, or (Send, Recv and
// RecvExact of a client made here, while its actor is idle) a direct
// turn of the actor on the caller's goroutine, with no message (see
// actors.TurnInto); the blocking forms wait for the answer
// within ctx (its deadline is the request's deadline), the Async forms take
// an explicit timeout and return the typed future (for use inside actors,
// with PipeTo or actors.ReenterAfter). One reader and one writer may be in
// flight at once; concurrent readers are served in order. A Client is safe
// for concurrent use.
type Client struct {
	actors.Socket
	opts  *messages.Options
	local *clientActor                      // NewClient's actor, for direct turns (actors.TurnInto); nil for others
	addrs atomic.Pointer[[2]netip.AddrPort] // local, remote: once connected
	tls   atomic.Pointer[tls.ConnectionState]
}

// ClientProps returns the props of a TCP client actor, to spawn as a child
// of a supervising actor (the client connects on its first Connect).
func ClientProps(sys *actors.System) *actor.Props { return clientProps(sys, nil) }

// clientProps are ClientProps that give made the actor they build.
func clientProps(sys *actors.System, made func(*clientActor)) *actor.Props {
	return core.SocketProps(sys.Runtime(), nil, func(c *core.Core) (core.SocketActor, core.Protocol) {
		a := newClientActor(c)
		if made != nil {
			made(a)
		}
		return a, a
	})
}

// NewClient spawns a TCP client actor. It connects on Connect; opts set its
// socket options (TCP_NODELAY is on unless WithNoDelay(false)); an invalid
// one fails it with an error naming the option (wrapping
// socket.ErrInvalidArgument).
func NewClient(sys *actors.System, opts ...Option) (*Client, error) {
	if err := actors.Precheck(context.Background(), sys, "socket", "tcp"); err != nil {
		return nil, err
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, &socket.OpError{Op: "socket", Net: "tcp", Err: err}
	}
	// The actor is built while it is spawned, before the handle exists.
	var local *clientActor
	pid, err := sys.Runtime().SpawnSocketActor(clientProps(sys, func(a *clientActor) { local = a }))
	if err != nil {
		return nil, err
	}
	return &Client{Socket: actors.SocketOf(sys, pid), opts: o, local: local}, nil
}

// Dial spawns a client and connects it to addr ("ip:port", "[ipv6]:port"
// or "host:port", the name resolved with net.Resolver) within ctx. On
// failure the client is closed.
func Dial(ctx context.Context, sys *actors.System, addr string, opts ...Option) (*Client, error) {
	c, err := NewClient(sys, opts...)
	if err != nil {
		return nil, err
	}
	return connectOrClose(ctx, c, addr)
}

func connectOrClose(ctx context.Context, c *Client, addr string) (*Client, error) {
	if err := c.Connect(ctx, addr); err != nil {
		_ = c.Close(context.Background())
		return nil, err
	}
	return c, nil
}

// LocalAddr returns the client's local address; zero until it is
// connected.
func (c *Client) LocalAddr() netip.AddrPort {
	if a := c.addrs.Load(); a != nil {
		return a[0]
	}
	return netip.AddrPort{}
}

// RemoteAddr returns the address of the client's peer; zero until it is
// connected.
func (c *Client) RemoteAddr() netip.AddrPort {
	if a := c.addrs.Load(); a != nil {
		return a[1]
	}
	return netip.AddrPort{}
}

func (c *Client) setAddrs(local, remote *messages.Endpoint) {
	l, _ := local.AddrPort()
	r, _ := remote.AddrPort()
	c.addrs.Store(&[2]netip.AddrPort{l, r})
}

// ConnectAsync starts connecting to addr: "ip:port", "[ipv6]:port" or
// "host:port" (resolved by the actor with net.Resolver). A timeout of 0
// waits as long as the kernel does.
func (c *Client) ConnectAsync(addr string, timeout time.Duration) *actors.Future[*messages.ConnectResult] {
	cmd := &messages.Connect{HostPort: addr, Options: c.opts}
	if path, ok := socket.UnixPath(addr); ok {
		cmd.HostPort, cmd.Remote = "", messages.NewUnixEndpoint(path)
		if path == "" {
			cmd.Remote.Path = "@" // refused by the actor as an empty Unix path, not parsed as TCP
		}
	}
	return c.connectAsync(cmd, timeout)
}

// ConnectAddrPortAsync is ConnectAsync for a netip.AddrPort.
func (c *Client) ConnectAddrPortAsync(ap netip.AddrPort, timeout time.Duration) *actors.Future[*messages.ConnectResult] {
	cmd := &messages.Connect{Remote: messages.NewEndpoint(ap), Options: c.opts}
	return c.connectAsync(cmd, timeout)
}

func (c *Client) connectAsync(cmd *messages.Connect, timeout time.Duration) *actors.Future[*messages.ConnectResult] {
	ms, ok := core.TimeoutMS(timeout)
	if !ok {
		return actors.Invalid[*messages.ConnectResult](cmd)
	}
	cmd.TimeoutMs = ms
	return actors.Request[*messages.ConnectResult](c.System().Root(), c.PID(), cmd)
}

// Connect connects to addr (see ConnectAsync) within ctx. The error says
// why it did not: errors.Is matches syscall.ECONNREFUSED,
// os.ErrDeadlineExceeded (and context.DeadlineExceeded) on timeout,
// socket.ErrInvalidAddress, socket.ErrNoSuchHost. Connecting again to the
// same address returns the first outcome; to another address, an error
// wrapping syscall.EISCONN.
func (c *Client) Connect(ctx context.Context, addr string) error {
	return c.connected(actors.Block(ctx, &c.Socket, "connect", func(t time.Duration) *actors.Future[*messages.ConnectResult] {
		return c.ConnectAsync(addr, t)
	}))
}

// ConnectAddrPort is Connect for a netip.AddrPort.
func (c *Client) ConnectAddrPort(ctx context.Context, ap netip.AddrPort) error {
	return c.connected(actors.Block(ctx, &c.Socket, "connect", func(t time.Duration) *actors.Future[*messages.ConnectResult] {
		return c.ConnectAddrPortAsync(ap, t)
	}))
}

// connected turns a Connect's answer into its error, and records the
// addresses of a connected client.
func (c *Client) connected(res *messages.ConnectResult, err error) error {
	if err != nil {
		return err
	}
	if res.GetStatus() == messages.ConnectStatus_CONNECT_STATUS_CONNECTED {
		c.setAddrs(res.GetLocal(), res.GetRemote())
		return nil
	}
	if err := res.GetError().Err(); err != nil {
		return err
	}
	return &socket.OpError{Op: "connect", Err: socket.ErrPolling}
}

// SendAsync writes all of p, waiting for send space as needed, within
// timeout (0: no timeout). On timeout the result reports how many bytes
// went out. p must not be modified until the future resolves.
func (c *Client) SendAsync(p []byte, timeout time.Duration) *actors.Future[*messages.SendResult] {
	return c.sendAsync(new(sendCall), p, timeout)
}

// sendAsync is SendAsync in the call r.
func (c *Client) sendAsync(r *sendCall, p []byte, timeout time.Duration) *actors.Future[*messages.SendResult] {
	ms, ok := core.TimeoutMS(timeout)
	if !ok {
		return actors.Invalid[*messages.SendResult](&messages.Send{Data: p})
	}
	r.cmd.Data, r.cmd.TimeoutMs = p, ms
	if a := c.local; a != nil && actors.TurnInto(a.core, &r.cmd, &r.f, r, func() { a.send(&r.cmd, r) }) {
		return &r.f
	}
	return actors.RequestInto(c.System().Root(), c.PID(), &r.cmd, &r.f, r)
}

// Send writes all of p within ctx (see SendAsync). It returns the bytes
// sent and, if not all of them, the error (errors.Is
// os.ErrDeadlineExceeded on timeout, syscall.ECONNRESET or EPIPE when the
// peer reset, net.ErrClosed after Close).
func (c *Client) Send(ctx context.Context, p []byte) (int, error) {
	r := sendCalls.Get().(*sendCall)
	res, err := actors.Block(ctx, &c.Socket, "send", func(t time.Duration) *actors.Future[*messages.SendResult] {
		return c.sendAsync(r, p, t)
	})
	n := int(res.GetBytesSent())
	if err == nil {
		err = res.GetStatus().Err()
	}
	recycle(ctx, c, &sendCalls, r, &r.f, err)
	return n, err
}

// RecvAsync reads what is available, up to max bytes, waiting up to
// timeout (0: no timeout) for the first byte.
func (c *Client) RecvAsync(max int, timeout time.Duration) *actors.Future[*messages.RecvResult] {
	return c.recvAsync(new(recvCall), max, timeout)
}

// recvAsync is RecvAsync in the call r.
func (c *Client) recvAsync(r *recvCall, max int, timeout time.Duration) *actors.Future[*messages.RecvResult] {
	ms, ok := core.TimeoutMS(timeout)
	if !ok || max < 0 || max > MaxRecv {
		return actors.Invalid[*messages.RecvResult](&messages.Recv{})
	}
	r.cmd.Max, r.cmd.TimeoutMs = uint32(max), ms
	r.heldRecv.to = &r.f
	if a := c.local; a != nil && actors.TurnInto(a.core, &r.cmd, &r.f, &r.heldRecv, func() {
		a.recv(&r.cmd, &r.heldRecv, false, int64(r.cmd.Max), r.cmd.TimeoutMs)
	}) {
		return &r.f
	}
	return actors.RequestInto(c.System().Root(), c.PID(), &r.cmd, &r.f, &r.heldRecv)
}

// Recv reads up to max bytes within ctx (see RecvAsync). At end of stream
// it returns an error wrapping io.EOF; on timeout one wrapping
// os.ErrDeadlineExceeded and no bytes.
func (c *Client) Recv(ctx context.Context, max int) ([]byte, error) {
	r := recvCalls.Get().(*recvCall)
	data, err := recvResult(actors.Block(ctx, &c.Socket, "recv", func(t time.Duration) *actors.Future[*messages.RecvResult] {
		return c.recvAsync(r, max, t)
	}))
	recycle(ctx, c, &recvCalls, r, &r.f, err)
	return data, err
}

// RecvExactAsync reads exactly n bytes within timeout (0: no timeout).
func (c *Client) RecvExactAsync(n int, timeout time.Duration) *actors.Future[*messages.RecvResult] {
	return c.recvExactAsync(new(recvExactCall), n, timeout)
}

// recvExactAsync is RecvExactAsync in the call r.
func (c *Client) recvExactAsync(r *recvExactCall, n int, timeout time.Duration) *actors.Future[*messages.RecvResult] {
	ms, ok := core.TimeoutMS(timeout)
	if !ok || n < 0 || n > MaxRecv {
		return actors.Invalid[*messages.RecvResult](&messages.RecvExact{})
	}
	r.cmd.N, r.cmd.TimeoutMs = uint32(n), ms
	r.heldRecv.to = &r.f
	if a := c.local; a != nil && actors.TurnInto(a.core, &r.cmd, &r.f, &r.heldRecv, func() {
		a.recv(&r.cmd, &r.heldRecv, true, int64(r.cmd.N), r.cmd.TimeoutMs)
	}) {
		return &r.f
	}
	return actors.RequestInto(c.System().Root(), c.PID(), &r.cmd, &r.f, &r.heldRecv)
}

// RecvExact reads exactly n bytes within ctx. On timeout or end of stream
// it returns the prefix it did read with the error.
func (c *Client) RecvExact(ctx context.Context, n int) ([]byte, error) {
	r := recvExactCalls.Get().(*recvExactCall)
	data, err := recvResult(actors.Block(ctx, &c.Socket, "recvexact", func(t time.Duration) *actors.Future[*messages.RecvResult] {
		return c.recvExactAsync(r, n, t)
	}))
	recycle(ctx, c, &recvExactCalls, r, &r.f, err)
	return data, err
}

func recvResult(res *messages.RecvResult, err error) ([]byte, error) {
	if err != nil {
		return res.GetData(), err
	}
	return res.GetData(), res.GetStatus().Err()
}

// Abort resets the connection (RST: SO_LINGER 0, then close) and stops the
// actor.
func (c *Client) Abort(ctx context.Context) error {
	f := actors.Request[*messages.Status](c.System().Root(), c.PID(), &messages.Abort{})
	st, err := actors.Await(ctx, c.System(), c.PID(), f)
	if err != nil {
		return err
	}
	return st.Err()
}
