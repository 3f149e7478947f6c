package udp

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// Peer is the Go handle of a UDP peer actor: bound (Bind), send-only
// (NewPeer: its socket opens on the first send) or connected (Dial, or
// Connect). Every call has a blocking form that waits within a context
// (its deadline is the request's deadline) and an Async form that takes
// an explicit timeout and returns the typed future. A Peer is safe for
// concurrent use; sends are served in order, and so are receives.
type Peer struct {
	actors.Socket
	addrs atomic.Pointer[[2]netip.AddrPort] // local, remote (once connected)
	path  string                            // a Unix peer's bound path, set before the handle is returned
}

// Option sets a socket option of a peer: of NewPeer, Bind and Dial, and of
// Serve and StartService (an Option is a ServeOption too). An option given
// an invalid value makes the call that takes it fail with an error naming
// the option and the value (wrapping socket.ErrInvalidArgument).
type Option interface {
	ServeOption
	apply(*socketConfig)
}

// socketConfig is what a peer's socket options set: the options and the
// first invalid one, if any.
type socketConfig struct {
	opts *messages.Options
	err  error
}

// socketOption is a setting of the peer's socket.
type socketOption func(*socketConfig)

func (o socketOption) apply(c *socketConfig) { o(c) }
func (o socketOption) applyServe(c *serveConfig) {
	sc := socketConfig{opts: c.opts}
	o(&sc)
	c.fail(sc.err)
}

// invalidSocket is an Option whose value was invalid: it records err.
func invalidSocket(err error) Option {
	return socketOption(func(c *socketConfig) { c.err = core.FirstError(c.err, err) })
}

// WithReuseAddr sets SO_REUSEADDR.
func WithReuseAddr(on bool) Option {
	return socketOption(func(c *socketConfig) { c.opts.ReuseAddr = on })
}

// WithReusePort sets SO_REUSEPORT (several peers share one port).
func WithReusePort(on bool) Option {
	return socketOption(func(c *socketConfig) { c.opts.ReusePort = on })
}

// WithBroadcast sets SO_BROADCAST.
func WithBroadcast(on bool) Option {
	return socketOption(func(c *socketConfig) { c.opts.Broadcast = on })
}

// WithBuffers sets SO_RCVBUF and SO_SNDBUF in bytes; zero keeps the
// default. Each must be from 0 to math.MaxInt32.
func WithBuffers(recv, send int) Option {
	if recv < 0 || send < 0 || recv > math.MaxInt32 || send > math.MaxInt32 {
		return invalidSocket(badOption(fmt.Sprintf("WithBuffers(%d, %d)", recv, send), "sizes must be from 0 (the default) to 2147483647"))
	}
	return socketOption(func(c *socketConfig) {
		c.opts.RecvBuffer, c.opts.SendBuffer = uint32(recv), uint32(send)
	})
}

// WithV6Only sets IPV6_V6ONLY on an IPv6 peer.
func WithV6Only(on bool) Option {
	return socketOption(func(c *socketConfig) { c.opts.V6Only = on })
}

// buildOptions applies a peer's options, leaving out invalid ones: for
// the callers that cannot return an error (PeerProps; BindAt until it
// checks its options with checkOptions).
func buildOptions(opts []Option) *messages.Options {
	o, _ := checkOptions(opts)
	return o
}

// checkOptions applies a peer's options; the error is that of the first
// invalid one (an *socket.OptionError), which is left out.
func checkOptions(opts []Option) (*messages.Options, error) {
	c := socketConfig{opts: &messages.Options{}}
	for _, opt := range opts {
		if opt == nil {
			c.err = core.FirstError(c.err, errNilOption)
			continue
		}
		opt.apply(&c)
	}
	return c.opts, c.err
}

// PeerProps returns the props of a UDP peer actor, to spawn under a
// supervising actor; it is send-only until a Bind. PeerProps cannot
// return an error: an invalid option is left out here (NewPeer, Bind and
// Dial report it), so check options with them, or set the socket options
// in the Bind command.
func PeerProps(sys *actors.System, opts ...Option) *actor.Props {
	return peerProps(sys, buildOptions(opts))
}

func peerProps(sys *actors.System, o *messages.Options) *actor.Props {
	return core.SocketProps(sys.Runtime(), nil, func(c *core.Core) (core.SocketActor, core.Protocol) {
		a := newPeerActor(c, o, nil)
		return a, a.hooks()
	})
}

// NewPeer spawns a send-only peer: it opens its socket on the first send,
// of the family of that destination (as coro::net's send-only peer, with
// the family chosen by the address). RecvFrom on it answers
// udp_not_bound.
func NewPeer(sys *actors.System, opts ...Option) (*Peer, error) {
	if err := actors.Precheck(context.Background(), sys, "socket", "udp"); err != nil {
		return nil, err
	}
	o, err := checkOptions(opts)
	if err != nil {
		return nil, &socket.OpError{Op: "socket", Net: "udp", Err: err}
	}
	pid, err := sys.Runtime().SpawnSocketActor(peerProps(sys, o))
	if err != nil {
		return nil, err
	}
	return &Peer{Socket: actors.SocketOf(sys, pid)}, nil
}

// Bind spawns a peer bound to addr: "ip:port", "[ipv6]:port", ":port"
// (every interface) or "host:port" (the name is resolved with
// net.Resolver within ctx; the first address is used). Port 0 picks a
// free port: see LocalAddr.
func Bind(ctx context.Context, sys *actors.System, addr string, opts ...Option) (*Peer, error) {
	if err := actors.Precheck(ctx, sys, "bind", "udp"); err != nil {
		return nil, err
	}
	o, err := checkOptions(opts)
	if err != nil {
		return nil, &socket.OpError{Op: "bind", Net: "udp", Err: err}
	}
	pid, err := sys.Runtime().SpawnSocketActor(peerProps(sys, o))
	if err != nil {
		return nil, err
	}
	return bindSpawned(ctx, sys, pid, addr, o)
}

// Dial spawns a peer connected to addr ("ip:port", "[ipv6]:port" or
// "host:port", the name resolved within ctx): NewPeer, then Connect. On
// failure the peer is closed.
func Dial(ctx context.Context, sys *actors.System, addr string, opts ...Option) (*Peer, error) {
	p, err := NewPeer(sys, opts...)
	if err != nil {
		return nil, err
	}
	return connectOrClose(ctx, p, addr)
}

func connectOrClose(ctx context.Context, p *Peer, addr string) (*Peer, error) {
	if err := p.Connect(ctx, addr); err != nil {
		_ = p.Close(context.Background())
		return nil, err
	}
	return p, nil
}

// dialAddr resolves the address Dial connects to. As with Go's net.Dial,
// an empty or unspecified host means this host: ":9000" and "[::]:9000"
// dial loopback, so a peer's own LocalAddr().String() can be dialed.
func dialAddr(ctx context.Context, addr string) (netip.AddrPort, error) {
	ap, named, err := core.ResolveLocal(ctx, addr)
	if err == nil && !named {
		ap, err = socket.ParseLocal(addr)
	}
	switch {
	case err != nil:
		return netip.AddrPort{}, &socket.OpError{Op: "connect", Net: "udp", Err: err}
	case ap.Port() == 0:
		return netip.AddrPort{}, &socket.OpError{Op: "connect", Net: "udp", Err: &socket.AddrError{Addr: addr, Reason: "port 0"}}
	case ap.Addr().Is4() && ap.Addr().IsUnspecified():
		ap = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), ap.Port())
	case ap.Addr().IsUnspecified():
		ap = netip.AddrPortFrom(netip.IPv6Loopback(), ap.Port())
	}
	return ap, nil
}

// bindSpawned binds the peer actor at pid; on failure it closes it.
func bindSpawned(ctx context.Context, sys *actors.System, pid *actor.PID, addr string, opts *messages.Options) (*Peer, error) {
	p := &Peer{Socket: actors.SocketOf(sys, pid)}
	cmd := &messages.Bind{HostPort: addr, Options: opts}
	if path, ok := socket.UnixPath(addr); ok {
		if err := socket.CheckUnixPath(path); err != nil {
			_ = p.Close(context.Background())
			return nil, &socket.OpError{Op: "bind", Net: "unixgram", Err: err}
		}
		cmd.HostPort, cmd.Local = "", messages.NewUnixEndpoint(path)
	} else if ap, named, err := core.ResolveLocal(ctx, addr); err != nil {
		_ = p.Close(context.Background())
		return nil, &socket.OpError{Op: "bind", Net: "udp", Err: err}
	} else if named {
		cmd.HostPort, cmd.Local = "", messages.NewEndpoint(ap)
	}
	f := actors.Request[*messages.BindResult](sys.Root(), pid, cmd)
	res, err := actors.Await(ctx, sys, pid, f)
	if err == nil {
		err = res.GetStatus().Err()
	}
	if err != nil {
		_ = p.Close(context.Background())
		return nil, err
	}
	local, _ := res.GetLocal().AddrPort()
	p.addrs.Store(&[2]netip.AddrPort{local, {}})
	p.path = res.GetLocal().GetPath()
	return p, nil
}

// Path returns the Unix socket path a Unix datagram peer is bound to
// ("@name" for an abstract one); "" otherwise (an IP peer, or a Unix peer
// that only sends: it gets a name the kernel picks).
func (p *Peer) Path() string { return p.path }

// LocalAddr returns the bound address (zero for a send-only peer until it
// connects).
func (p *Peer) LocalAddr() netip.AddrPort {
	if a := p.addrs.Load(); a != nil {
		return a[0]
	}
	return netip.AddrPort{}
}

// RemoteAddr returns the address a connected peer is connected to (zero
// otherwise).
func (p *Peer) RemoteAddr() netip.AddrPort {
	if a := p.addrs.Load(); a != nil {
		return a[1]
	}
	return netip.AddrPort{}
}

func request[T any](p *Peer, cmd proto.Message) *actors.Future[T] {
	return actors.Request[T](p.System().Root(), p.PID(), cmd)
}

// SendToAsync sends one datagram, b, to to within timeout (0: none). An
// empty b sends an empty datagram, as Go's net does; one longer than the
// family allows (65,507 bytes to IPv4, 65,527 to IPv6) answers
// message_too_big.
func (p *Peer) SendToAsync(to netip.AddrPort, b []byte, timeout time.Duration) *actors.Future[*messages.SendToResult] {
	cmd := &messages.SendTo{Peer: messages.NewEndpoint(to), Data: b}
	ms, ok := core.TimeoutMS(timeout)
	if !ok {
		return actors.Invalid[*messages.SendToResult](cmd)
	}
	cmd.TimeoutMs = ms
	return request[*messages.SendToResult](p, cmd)
}

// SendTo sends one datagram within ctx (see SendToAsync) and returns the
// bytes sent.
func (p *Peer) SendTo(ctx context.Context, to netip.AddrPort, b []byte) (int, error) {
	res, err := actors.Block(ctx, &p.Socket, "sendto", func(t time.Duration) *actors.Future[*messages.SendToResult] {
		return p.SendToAsync(to, b, t)
	})
	if err != nil {
		return 0, err
	}
	return int(res.GetBytesSent()), res.GetStatus().Err()
}

// RecvFromAsync receives one datagram of at most max bytes within timeout.
func (p *Peer) RecvFromAsync(max int, timeout time.Duration) *actors.Future[*messages.RecvFromResult] {
	cmd := &messages.RecvFrom{}
	ms, ok := core.TimeoutMS(timeout)
	if !ok || max <= 0 || max > MaxDatagram+1 {
		return actors.Invalid[*messages.RecvFromResult](cmd)
	}
	cmd.Max, cmd.TimeoutMs = uint32(max), ms
	return request[*messages.RecvFromResult](p, cmd)
}

// RecvFrom receives one datagram within ctx and returns its bytes and its
// sender, as net.UDPConn's ReadFromUDPAddrPort does. A datagram longer
// than max is returned cut to max with an error wrapping
// socket.ErrTruncated (RecvFromAsync's result tells its real Length); on
// a send-only peer the error wraps socket.ErrUDPNotBound.
func (p *Peer) RecvFrom(ctx context.Context, max int) ([]byte, netip.AddrPort, error) {
	res, err := actors.Block(ctx, &p.Socket, "recvfrom", func(t time.Duration) *actors.Future[*messages.RecvFromResult] {
		return p.RecvFromAsync(max, t)
	})
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	from, _ := res.GetSender().AddrPort()
	return res.GetData(), from, res.GetStatus().Err()
}

// Connect fixes the peer's destination (connected mode) within ctx: Send
// and Recv then need no address, datagrams from other senders are dropped
// by the kernel, and an ICMP port-unreachable surfaces as
// connection_refused. addr is "ip:port", "[ipv6]:port" or "host:port"
// (resolved within ctx); an empty or unspecified host is this host, as
// with Go's net.Dial.
func (p *Peer) Connect(ctx context.Context, addr string) error {
	if path, ok := socket.UnixPath(addr); ok {
		if err := socket.CheckUnixPath(path); err != nil {
			return &socket.OpError{Op: "connect", Net: "unixgram", Err: err}
		}
		return p.connectUnix(ctx, path)
	}
	ap, err := dialAddr(ctx, addr)
	if err != nil {
		return err
	}
	return p.ConnectAddrPort(ctx, ap)
}

// ConnectAddrPort is Connect for a netip.AddrPort.
func (p *Peer) ConnectAddrPort(ctx context.Context, to netip.AddrPort) error {
	res, err := actors.Block(ctx, &p.Socket, "connect", func(time.Duration) *actors.Future[*messages.ConnectResult] {
		return request[*messages.ConnectResult](p, &messages.ConnectPeer{Peer: messages.NewEndpoint(to)})
	})
	if err != nil {
		return err
	}
	if res.GetStatus() != messages.ConnectStatus_CONNECT_STATUS_CONNECTED {
		if err := res.GetError().Err(); err != nil {
			return err
		}
		return &socket.OpError{Op: "connect", Net: "udp", Addr: to, Err: socket.ErrInvalidAddress}
	}
	local, err := res.GetLocal().AddrPort()
	if err != nil {
		return err
	}
	p.addrs.Store(&[2]netip.AddrPort{local, to})
	return nil
}

// connectUnix connects a Unix datagram peer to the socket at path.
func (p *Peer) connectUnix(ctx context.Context, path string) error {
	res, err := actors.Block(ctx, &p.Socket, "connect", func(time.Duration) *actors.Future[*messages.ConnectResult] {
		return request[*messages.ConnectResult](p, &messages.ConnectPeer{Peer: messages.NewUnixEndpoint(path)})
	})
	if err != nil {
		return err
	}
	if res.GetStatus() != messages.ConnectStatus_CONNECT_STATUS_CONNECTED {
		if err := res.GetError().Err(); err != nil {
			return err
		}
		return &socket.OpError{Op: "connect", Net: "unixgram", Path: path, Err: socket.ErrInvalidAddress}
	}
	return nil
}

// SendToUnixAsync is SendToAsync for the Unix datagram socket at path
// ("@name": an abstract one; "unix:PATH", as Bind takes it, is the same). A peer that is not bound gets a name the
// kernel picks at its first send, so that the receiver can answer.
func (p *Peer) SendToUnixAsync(path string, b []byte, timeout time.Duration) *actors.Future[*messages.SendToResult] {
	path = strings.TrimPrefix(path, socket.UnixPrefix) // "unix:PATH" as Bind and Dial take it
	cmd := &messages.SendTo{Peer: messages.NewUnixEndpoint(path), Data: b}
	if err := socket.CheckUnixPath(path); err != nil {
		return actors.Invalid[*messages.SendToResult](cmd)
	}
	ms, ok := core.TimeoutMS(timeout)
	if !ok {
		return actors.Invalid[*messages.SendToResult](cmd)
	}
	cmd.TimeoutMs = ms
	return request[*messages.SendToResult](p, cmd)
}

// SendToUnix is SendTo for the Unix datagram socket at path, as
// net.UnixConn's WriteToUnix.
func (p *Peer) SendToUnix(ctx context.Context, path string, b []byte) (int, error) {
	res, err := actors.Block(ctx, &p.Socket, "sendto", func(t time.Duration) *actors.Future[*messages.SendToResult] {
		return p.SendToUnixAsync(path, b, t)
	})
	if err != nil {
		return 0, err
	}
	return int(res.GetBytesSent()), res.GetStatus().Err()
}

// RecvFromUnix is RecvFrom on a Unix datagram peer: it returns the
// datagram and its sender's path ("" for a sender that did not bind), as
// net.UnixConn's ReadFromUnix.
func (p *Peer) RecvFromUnix(ctx context.Context, max int) ([]byte, string, error) {
	res, err := actors.Block(ctx, &p.Socket, "recvfrom", func(t time.Duration) *actors.Future[*messages.RecvFromResult] {
		return p.RecvFromAsync(max, t)
	})
	if err != nil {
		return nil, "", err
	}
	return res.GetData(), res.GetSender().GetPath(), res.GetStatus().Err()
}

// SendAsync sends one datagram on a connected peer within timeout.
func (p *Peer) SendAsync(b []byte, timeout time.Duration) *actors.Future[*messages.SendResult] {
	cmd := &messages.Send{Data: b}
	ms, ok := core.TimeoutMS(timeout)
	if !ok {
		return actors.Invalid[*messages.SendResult](cmd)
	}
	cmd.TimeoutMs = ms
	return request[*messages.SendResult](p, cmd)
}

// Send sends one datagram on a connected peer within ctx (see SendAsync).
func (p *Peer) Send(ctx context.Context, b []byte) (int, error) {
	res, err := actors.Block(ctx, &p.Socket, "send", func(t time.Duration) *actors.Future[*messages.SendResult] {
		return p.SendAsync(b, t)
	})
	if err != nil {
		return 0, err
	}
	return int(res.GetBytesSent()), res.GetStatus().Err()
}

// RecvAsync receives one datagram of at most max bytes on a connected peer.
func (p *Peer) RecvAsync(max int, timeout time.Duration) *actors.Future[*messages.RecvResult] {
	cmd := &messages.Recv{}
	ms, ok := core.TimeoutMS(timeout)
	if !ok || max <= 0 || max > MaxDatagram+1 {
		return actors.Invalid[*messages.RecvResult](cmd)
	}
	cmd.Max, cmd.TimeoutMs = uint32(max), ms
	return request[*messages.RecvResult](p, cmd)
}

// Recv receives one datagram on a connected peer within ctx (see
// RecvAsync); a longer one is cut to max with an error wrapping
// socket.ErrTruncated.
func (p *Peer) Recv(ctx context.Context, max int) ([]byte, error) {
	res, err := actors.Block(ctx, &p.Socket, "recv", func(t time.Duration) *actors.Future[*messages.RecvResult] {
		return p.RecvAsync(max, t)
	})
	if err != nil {
		return nil, err
	}
	return res.GetData(), res.GetStatus().Err()
}

// JoinGroup joins a multicast group on iface (a name or index; "" lets the
// kernel pick), sets the outgoing multicast TTL (0 keeps the default) and
// whether this host's own members get the peer's multicast.
func (p *Peer) JoinGroup(ctx context.Context, group netip.Addr, iface string, ttl int, loopback bool) error {
	cmd := &messages.JoinGroup{Group: messages.NewEndpoint(netip.AddrPortFrom(group, 0)), Interface: iface, Ttl: uint32(max(ttl, 0)), Loopback: loopback}
	res, err := actors.Await(ctx, p.System(), p.PID(), request[*messages.Status](p, cmd))
	if err != nil {
		return err
	}
	return res.Err()
}

// LeaveGroup leaves a multicast group.
func (p *Peer) LeaveGroup(ctx context.Context, group netip.Addr, iface string) error {
	cmd := &messages.LeaveGroup{Group: messages.NewEndpoint(netip.AddrPortFrom(group, 0)), Interface: iface}
	res, err := actors.Await(ctx, p.System(), p.PID(), request[*messages.Status](p, cmd))
	if err != nil {
		return err
	}
	return res.Err()
}
