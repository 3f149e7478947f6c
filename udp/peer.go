package udp

import (
	"context"
	"net/netip"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// Peer is the Go handle of a UDP peer actor: bound (Bind) or send-only
// (NewPeer), optionally connected (Connect). Every call has a blocking
// form taking a context and an Async form returning the typed future. A
// Peer is safe for concurrent use; sends are served in order, and so are
// receives.
type Peer struct {
	actors.Socket
	local netip.AddrPort
}

// Option sets a socket option of a peer.
type Option func(*messages.Options)

// WithReuseAddr sets SO_REUSEADDR.
func WithReuseAddr(on bool) Option { return func(o *messages.Options) { o.ReuseAddr = on } }

// WithReusePort sets SO_REUSEPORT (several peers share one port).
func WithReusePort(on bool) Option { return func(o *messages.Options) { o.ReusePort = on } }

// WithBroadcast sets SO_BROADCAST.
func WithBroadcast(on bool) Option { return func(o *messages.Options) { o.Broadcast = on } }

// WithBuffers sets SO_RCVBUF and SO_SNDBUF in bytes; zero keeps the default.
func WithBuffers(recv, send int) Option {
	return func(o *messages.Options) { o.RecvBuffer, o.SendBuffer = uint32(max(recv, 0)), uint32(max(send, 0)) }
}

// WithV6Only sets IPV6_V6ONLY on an IPv6 peer.
func WithV6Only(on bool) Option { return func(o *messages.Options) { o.V6Only = on } }

func buildOptions(opts []Option) *messages.Options {
	o := &messages.Options{}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// PeerProps returns the props of a UDP peer actor, to spawn under a
// supervising actor; it is send-only until a Bind.
func PeerProps(sys *actors.System, opts ...Option) *actor.Props {
	o := buildOptions(opts)
	return actors.SocketProps(sys, nil, func(c *actors.Core) (actors.SocketActor, actors.Hooks) {
		a := newPeerActor(c, o, nil)
		return a, a.hooks()
	})
}

// NewPeer spawns a send-only peer: it opens its socket on the first send,
// of the family of that destination. RecvFrom on it answers udp_not_bound.
func NewPeer(sys *actors.System, opts ...Option) (*Peer, error) {
	pid, err := sys.SpawnSocketActor(PeerProps(sys, opts...))
	if err != nil {
		return nil, err
	}
	return &Peer{Socket: actors.SocketOf(sys, pid)}, nil
}

// NewSendOnly spawns a send-only peer whose socket is opened now, for
// domain d (socket.IPv4 or socket.IPv6), as coro::net's send-only peer.
func NewSendOnly(sys *actors.System, d socket.Domain, opts ...Option) (*Peer, error) {
	sock, err := socket.Open(d, socket.Datagram)
	if err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	if err := sock.Apply(o.SocketOptions()); err != nil {
		_ = sock.Close()
		return nil, err
	}
	props := actors.SocketProps(sys, sock, func(c *actors.Core) (actors.SocketActor, actors.Hooks) {
		a := newPeerActor(c, o, nil)
		return a, a.hooks()
	})
	pid, err := sys.SpawnSocketActor(props)
	if err != nil {
		_ = sock.Close()
		return nil, err
	}
	return &Peer{Socket: actors.SocketOf(sys, pid)}, nil
}

// Bind spawns a peer bound to addr: "ip:port", "[ipv6]:port", ":port"
// (every interface) or "host:port" (the name is resolved with
// net.Resolver within ctx; the first address is used). Port 0 picks a
// free port: see LocalAddr.
func Bind(ctx context.Context, sys *actors.System, addr string, opts ...Option) (*Peer, error) {
	pid, err := sys.SpawnSocketActor(PeerProps(sys, opts...))
	if err != nil {
		return nil, err
	}
	return bindSpawned(ctx, sys, pid, addr, buildOptions(opts))
}

// bindSpawned binds the peer actor at pid; on failure it closes it.
func bindSpawned(ctx context.Context, sys *actors.System, pid *actor.PID, addr string, opts *messages.Options) (*Peer, error) {
	p := &Peer{Socket: actors.SocketOf(sys, pid)}
	cmd := &messages.Bind{HostPort: addr, Options: opts}
	if ap, named, err := actors.ResolveLocal(ctx, addr); err != nil {
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
	p.local, _ = res.GetLocal().AddrPort()
	return p, nil
}

// LocalAddr returns the bound address (zero for a send-only peer).
func (p *Peer) LocalAddr() netip.AddrPort { return p.local }

func request[T any](p *Peer, cmd proto.Message) *actors.Future[T] {
	return actors.Request[T](p.System().Root(), p.PID(), cmd)
}

// SendToAsync sends one datagram, b, to to within timeout (0: none). An
// empty b sends an empty datagram, as Go's net does; one longer than the family allows
// (65,507 bytes to IPv4, 65,527 to IPv6) answers message_too_big.
func (p *Peer) SendToAsync(to netip.AddrPort, b []byte, timeout time.Duration) *actors.Future[*messages.SendToResult] {
	cmd := &messages.SendTo{Peer: messages.NewEndpoint(to), Data: b}
	ms, ok := actors.TimeoutMS(timeout)
	if !ok {
		return actors.Invalid[*messages.SendToResult](cmd)
	}
	cmd.TimeoutMs = ms
	return request[*messages.SendToResult](p, cmd)
}

// SendTo sends one datagram (see SendToAsync) and returns the bytes sent.
func (p *Peer) SendTo(ctx context.Context, to netip.AddrPort, b []byte, timeout time.Duration) (int, error) {
	res, err := actors.Await(ctx, p.System(), p.PID(), p.SendToAsync(to, b, timeout))
	if err != nil {
		return 0, err
	}
	return int(res.GetBytesSent()), res.GetStatus().Err()
}

// RecvFromAsync receives one datagram of at most max bytes within timeout.
func (p *Peer) RecvFromAsync(max int, timeout time.Duration) *actors.Future[*messages.RecvFromResult] {
	cmd := &messages.RecvFrom{}
	ms, ok := actors.TimeoutMS(timeout)
	if !ok || max <= 0 || max > MaxDatagram+1 {
		return actors.Invalid[*messages.RecvFromResult](cmd)
	}
	cmd.Max, cmd.TimeoutMs = uint32(max), ms
	return request[*messages.RecvFromResult](p, cmd)
}

// Datagram is one received datagram: its sender, its bytes (at most the
// max asked for) and its real length, larger than len(Data) when it was
// truncated.
type Datagram struct {
	From   netip.AddrPort
	Data   []byte
	Length int
}

// RecvFrom receives one datagram. A longer datagram than max is returned
// cut to max with an error wrapping socket.ErrTruncated and its real
// Length; on a send-only peer the error wraps socket.ErrUDPNotBound.
func (p *Peer) RecvFrom(ctx context.Context, max int, timeout time.Duration) (Datagram, error) {
	res, err := actors.Await(ctx, p.System(), p.PID(), p.RecvFromAsync(max, timeout))
	if err != nil {
		return Datagram{}, err
	}
	from, _ := res.GetSender().AddrPort()
	return Datagram{From: from, Data: res.GetData(), Length: int(res.GetLength())}, res.GetStatus().Err()
}

// Connect fixes the peer's destination (connected mode): Send and Recv
// then need no address, datagrams from other senders are dropped by the
// kernel, and an ICMP port-unreachable surfaces as connection_refused.
func (p *Peer) Connect(ctx context.Context, to netip.AddrPort) error {
	f := request[*messages.ConnectResult](p, &messages.ConnectPeer{Peer: messages.NewEndpoint(to)})
	res, err := actors.Await(ctx, p.System(), p.PID(), f)
	if err != nil {
		return err
	}
	if res.GetStatus() != messages.ConnectStatus_CONNECT_STATUS_CONNECTED {
		if err := res.GetError().Err(); err != nil {
			return err
		}
		return &socket.OpError{Op: "connect", Net: "udp", Addr: to, Err: socket.ErrInvalidAddress}
	}
	if p.local, err = res.GetLocal().AddrPort(); err != nil {
		return err
	}
	return nil
}

// SendAsync sends one datagram on a connected peer within timeout.
func (p *Peer) SendAsync(b []byte, timeout time.Duration) *actors.Future[*messages.SendResult] {
	cmd := &messages.Send{Data: b}
	ms, ok := actors.TimeoutMS(timeout)
	if !ok {
		return actors.Invalid[*messages.SendResult](cmd)
	}
	cmd.TimeoutMs = ms
	return request[*messages.SendResult](p, cmd)
}

// Send sends one datagram on a connected peer (see SendAsync).
func (p *Peer) Send(ctx context.Context, b []byte, timeout time.Duration) (int, error) {
	res, err := actors.Await(ctx, p.System(), p.PID(), p.SendAsync(b, timeout))
	if err != nil {
		return 0, err
	}
	return int(res.GetBytesSent()), res.GetStatus().Err()
}

// RecvAsync receives one datagram of at most max bytes on a connected peer.
func (p *Peer) RecvAsync(max int, timeout time.Duration) *actors.Future[*messages.RecvResult] {
	cmd := &messages.Recv{}
	ms, ok := actors.TimeoutMS(timeout)
	if !ok || max <= 0 || max > MaxDatagram+1 {
		return actors.Invalid[*messages.RecvResult](cmd)
	}
	cmd.Max, cmd.TimeoutMs = uint32(max), ms
	return request[*messages.RecvResult](p, cmd)
}

// Recv receives one datagram on a connected peer (see RecvAsync); a
// longer one is cut to max with an error wrapping socket.ErrTruncated.
func (p *Peer) Recv(ctx context.Context, max int, timeout time.Duration) ([]byte, error) {
	res, err := actors.Await(ctx, p.System(), p.PID(), p.RecvAsync(max, timeout))
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
