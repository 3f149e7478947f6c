package udp

import (
	"net/netip"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// MaxDatagram bounds the sizes a peer takes (a RecvFrom's max, a push
// peer's WithReadSize): 65,535, the largest UDP datagram length. A
// payload is 8 bytes less, and the IP header takes more: at most 65,507
// bytes go out over IPv4 and 65,527 over IPv6 (IPv6 jumbograms aside); a
// larger SendTo answers message_too_big.
const MaxDatagram = 65535

// peerActor is a UDP peer: bound (Bind) or send-only; connected mode after
// ConnectPeer. Sends and receives queue separately, each served in order.
// In push mode (Serve) the handler is its behaviour (see push.go).
type peerActor struct {
	core      *core.Core
	opts      *messages.Options
	ctx       actor.Context // of the message being handled
	bound     bool
	local     netip.AddrPort
	connected netip.AddrPort
	path      string               // the Unix socket path a Unix peer is bound to
	file      *socket.UnixFile     // the socket file it made, removed when it closes
	peerPath  string               // the Unix socket path it is connected to
	sends     *core.Queue[sendReq] // made at the first send that waits
	recvs     *core.Queue[recvReq] // pull mode: made at the first receive

	// push mode only
	push      *serveConfig
	conn      Conn
	beh       behaviour // nil before Bind and once the handler stopped
	host      core.HandlerHost
	paused    bool // PauseReading
	closing   bool // Conn.Close: the send queue drains, then the peer closes
	ended     bool // the socket is closed and the handler told
	reading   bool // servePush is running
	kickLater bool // reading may resume once the handler returns
	queued    int  // what the handler's queued sends count against WithSendQueue

	dgram    messages.Datagram // the Datagram lent to the handler
	senderEP messages.Endpoint // its Sender
	ip       [16]byte          // its Sender's ip
	from     netip.AddrPort    // its sender, for Conn.From
	fromPath string            // a Unix sender's path, for Conn.FromPath
	cur      *readBuf          // the buffer of the Datagram being handled
	retained []*readBuf        // buffers the handler retained
	free     []*readBuf        // buffers to read into
	io       batchIO           // batched reads and sends (push_batch.go)
	stats    struct{ received, truncated uint64 }
}

var _ core.SocketActor = (*peerActor)(nil)

type sendReq struct {
	cmd    proto.Message // nil for a handler's Conn.SendTo
	to     dest          // zero in connected mode
	data   []byte
	charge int // against WithSendQueue, for a handler's send
}

// dest is where a datagram goes: an IP address and port, or the path of a
// Unix socket; the zero dest is the connected peer.
type dest struct {
	ap   netip.AddrPort
	path string
}

type recvReq struct {
	cmd proto.Message
	max int
}

// scratch buffers for pull-mode receives: read into one, copy out the
// datagram.
var scratch = sync.Pool{New: func() any { b := make([]byte, MaxDatagram+1); return &b }}

func newPeerActor(c *core.Core, opts *messages.Options, push *serveConfig) *peerActor {
	c.SetKind("udp.peer")
	a := &peerActor{core: c, opts: opts, push: push}
	if push != nil {
		a.conn.a = a
		a.io.recvBatch = recvBatchFor(push.readSize)
		c.RunsHandlers()
		if push.blocking {
			c.RunOnPool()
		}
	}
	return a
}

// hooks drive a push-mode peer's reads; sends and pull-mode receives
// wait on queues.
func (a *peerActor) hooks() core.Hooks {
	if a.push == nil {
		return core.Hooks{OnCancel: func(messages.IOStatus) { a.removeFile() }}
	}
	return core.Hooks{
		OnCancel: func(messages.IOStatus) { a.removeFile() },
		OnReady: func(d poller.Direction) {
			if d == poller.Readable {
				a.servePush()
			}
		},
		OnWants: func(d poller.Direction) bool { return d == poller.Readable && a.readable() },
	}
}

// Receive handles the peer's commands; the core handles the rest. A
// push-mode peer hands other messages to its handler (receivePush).
func (a *peerActor) Receive(ctx actor.Context) {
	a.ctx = ctx
	if a.push != nil {
		a.receivePush(ctx)
		return
	}
	a.core.Receive(ctx, a.command)
}

// command runs a peer command; false means cmd is not one.
func (a *peerActor) command(cmd proto.Message, reply core.Replier) bool {
	if a.core.Closed() && (a.push == nil || peerCommand(cmd)) {
		if _, shared := cmd.(*messages.Close); !shared {
			core.Reject(reply, cmd, messages.IOStatus_IO_STATUS_CLOSED)
			return true
		}
	}
	switch cmd := cmd.(type) {
	case *messages.Bind:
		reply.Reply(a.bind(cmd))
	case *messages.ConnectPeer:
		reply.Reply(a.connect(cmd))
	case *messages.SendTo:
		if cmd.GetPeer().IsUnix() {
			a.send(cmd, dest{path: cmd.GetPeer().GetPath()}, cmd.GetData(), cmd.GetTimeoutMs(), reply)
			break
		}
		to, err := cmd.GetPeer().AddrPort()
		if err != nil || !to.Addr().IsValid() || to.Port() == 0 {
			reply.Reply(&messages.SendToResult{Status: a.status("sendto", to, socket.ErrInvalidAddress)})
			break
		}
		a.send(cmd, dest{ap: to}, cmd.GetData(), cmd.GetTimeoutMs(), reply)
	case *messages.Send:
		if !a.isConnected() {
			reply.Reply(&messages.SendResult{Status: a.status("send", a.connected, unix.EDESTADDRREQ)})
			break
		}
		a.send(cmd, dest{}, cmd.GetData(), cmd.GetTimeoutMs(), reply)
	case *messages.RecvFrom:
		a.recv(cmd, int(cmd.GetMax()), cmd.GetTimeoutMs(), reply)
	case *messages.Recv:
		a.recv(cmd, int(cmd.GetMax()), cmd.GetTimeoutMs(), reply)
	case *messages.ResumeReading:
		// Resumes a push-mode peer's reading after PauseReading.
		if a.push != nil && a.paused {
			a.paused = false
			a.kick()
		}
	case *messages.GetStats:
		reply.Reply(&messages.PeerStats{Received: a.stats.received, Drops: a.core.Counters().Drops.Load(), Truncated: a.stats.truncated})
	case *messages.JoinGroup:
		reply.Reply(a.membership(cmd, cmd.GetGroup(), cmd.GetInterface(), true, cmd))
	case *messages.LeaveGroup:
		reply.Reply(a.membership(cmd, cmd.GetGroup(), cmd.GetInterface(), false, nil))
	default:
		return false
	}
	return true
}

// peerCommand reports whether cmd is one of the peer's own commands.
func peerCommand(cmd proto.Message) bool {
	switch cmd.(type) {
	case *messages.Bind, *messages.ConnectPeer, *messages.SendTo, *messages.Send, *messages.RecvFrom,
		*messages.Recv, *messages.ResumeReading, *messages.GetStats, *messages.JoinGroup, *messages.LeaveGroup:
		return true
	}
	return false
}

func (a *peerActor) status(op string, addr netip.AddrPort, err error) *messages.Status {
	network := "udp"
	if sock := a.core.Socket(); sock != nil {
		network = sock.Net()
	}
	return messages.StatusOf(op, network, addr, err)
}

// statusTo is the status of op toward d: a Unix destination's path is
// named in the error.
func (a *peerActor) statusTo(op string, d dest, err error) *messages.Status {
	if d.path == "" || err == nil {
		return a.status(op, d.ap, err)
	}
	return messages.StatusOf(op, "unixgram", netip.AddrPort{}, socket.PathError(op, "unixgram", d.path, err))
}

// isConnected reports whether the peer is connected (Connect), to an IP
// peer or a Unix socket.
func (a *peerActor) isConnected() bool { return a.connected.IsValid() || a.peerPath != "" }

// removeFile removes the socket file a Unix peer's bind made.
func (a *peerActor) removeFile() {
	if a.file != nil {
		_ = a.file.Remove()
		a.file = nil
	}
}

// ensureUnix opens the peer's Unix datagram socket on first use and, if
// it is not bound, binds it to a name the kernel picks (abstract), so
// that the peers it sends to can answer.
func (a *peerActor) ensureUnix() (*socket.Socket, error) {
	fresh := a.core.Socket() == nil
	sock, err := a.ensureSocket(socket.Unix)
	if err == nil && fresh && !a.bound {
		// Bound now, to an abstract name: it can receive the answers
		// (on the BSDs, which have none, it stays unbound).
		if err = sock.AutoBind(); err == nil && socket.AutoBinds {
			a.bound = true
		}
	}
	return sock, err
}

// bindUnix binds a Unix datagram peer to path.
func (a *peerActor) bindUnix(cmd *messages.Bind, path string) *messages.BindResult {
	fail := func(err error) *messages.BindResult {
		return &messages.BindResult{Status: a.statusTo("bind", dest{path: path}, err)}
	}
	if a.bound || a.core.Socket() != nil {
		return fail(unix.EINVAL)
	}
	if err := socket.CheckUnixPath(path); err != nil {
		return fail(err)
	}
	if cmd.GetOptions() != nil {
		a.opts = cmd.GetOptions()
	}
	sock, err := a.ensureSocket(socket.Unix)
	if err != nil {
		return fail(err)
	}
	file, err := sock.BindUnix(path)
	if err != nil {
		a.core.Close(messages.IOStatus_IO_STATUS_CLOSED)
		return fail(err)
	}
	a.bound, a.path, a.file = true, path, file
	a.core.SetService(socket.UnixPrefix + path)
	if a.push != nil {
		a.startPush()
	}
	return &messages.BindResult{Status: &messages.Status{Op: "bind", Net: "unixgram"}, Local: messages.NewUnixEndpoint(path)}
}

// connectUnix connects a Unix datagram peer to the socket at path.
func (a *peerActor) connectUnix(path string) *messages.ConnectResult {
	sock, err := a.ensureUnix()
	if err == nil {
		err = sock.ConnectUnix(path)
	}
	if err != nil {
		return &messages.ConnectResult{Status: messages.ConnectStatusOf(err), Error: a.statusTo("connect", dest{path: path}, err)}
	}
	a.peerPath = path
	res := &messages.ConnectResult{Status: messages.ConnectStatus_CONNECT_STATUS_CONNECTED, Remote: messages.NewUnixEndpoint(path)}
	if local, err := sock.LocalPath(); err == nil && local != "" {
		res.Local = messages.NewUnixEndpoint(local)
	}
	return res
}

// ensureSocket opens the peer's socket for domain d on first use (a
// send-only peer's first send); an existing socket of the other family is
// an invalid address for the request.
func (a *peerActor) ensureSocket(d socket.Domain) (*socket.Socket, error) {
	if sock := a.core.Socket(); sock != nil {
		if sock.Domain() != d {
			return nil, socket.ErrInvalidAddress
		}
		return sock, nil
	}
	sock, err := socket.Open(d, socket.Datagram)
	if err != nil {
		return nil, err
	}
	if err := sock.Apply(a.opts.SocketOptions()); err != nil {
		_ = sock.Close()
		return nil, err
	}
	if err := a.core.Attach(sock); err != nil {
		return nil, err
	}
	return sock, nil
}

// domainFor picks the socket family for an address: IPv6 for IPv6 and
// IPv4-mapped literals, IPv4 otherwise.
func domainFor(a netip.Addr) socket.Domain {
	if a.Is6() {
		return socket.IPv6
	}
	return socket.IPv4
}

func (a *peerActor) bind(cmd *messages.Bind) *messages.BindResult {
	if cmd.GetLocal().IsUnix() {
		return a.bindUnix(cmd, cmd.GetLocal().GetPath())
	}
	if path, ok := socket.UnixPath(cmd.GetHostPort()); ok && cmd.GetLocal() == nil {
		return a.bindUnix(cmd, path)
	}
	ap, err := bindAddr(cmd)
	if err == nil && (a.bound || a.core.Socket() != nil) {
		err = unix.EINVAL // bound already, or used send-only
	}
	if err == nil {
		var sock *socket.Socket
		if cmd.GetOptions() != nil {
			a.opts = cmd.GetOptions()
		}
		if sock, err = a.ensureSocket(domainFor(ap.Addr())); err == nil {
			if err = sock.Bind(ap); err == nil {
				a.local, err = sock.LocalAddr()
			}
			if err != nil {
				a.core.Close(messages.IOStatus_IO_STATUS_CLOSED)
			}
		}
	}
	if err != nil {
		return &messages.BindResult{Status: a.status("bind", ap, err)}
	}
	a.bound = true
	a.core.SetService(a.local.String())
	if a.push != nil {
		a.startPush()
	}
	return &messages.BindResult{Status: a.status("bind", a.local, nil), Local: messages.NewEndpoint(a.local)}
}

func bindAddr(cmd *messages.Bind) (netip.AddrPort, error) {
	if cmd.GetLocal() != nil {
		ap, err := cmd.GetLocal().AddrPort()
		if err != nil || !ap.Addr().IsValid() {
			return ap, socket.ErrInvalidAddress
		}
		return ap, nil
	}
	return socket.ParseLocal(cmd.GetHostPort())
}

func (a *peerActor) connect(cmd *messages.ConnectPeer) *messages.ConnectResult {
	if cmd.GetPeer().IsUnix() {
		return a.connectUnix(cmd.GetPeer().GetPath())
	}
	to, err := cmd.GetPeer().AddrPort()
	if err != nil || !to.Addr().IsValid() || to.Port() == 0 {
		return &messages.ConnectResult{Status: messages.ConnectStatus_CONNECT_STATUS_INVALID_ADDRESS,
			Error: a.status("connect", to, socket.ErrInvalidAddress)}
	}
	d := socket.DomainOf(to.Addr())
	if sock := a.core.Socket(); sock != nil {
		d = sock.Domain() // an IPv6 socket reaches IPv4 peers mapped
	}
	sock, err := a.ensureSocket(d)
	if err == nil {
		err = sock.Connect(to)
	}
	if err != nil {
		return &messages.ConnectResult{Status: messages.ConnectStatusOf(err), Error: a.status("connect", to, err)}
	}
	a.connected = to
	local, _ := sock.LocalAddr()
	return &messages.ConnectResult{Status: messages.ConnectStatus_CONNECT_STATUS_CONNECTED,
		Local: messages.NewEndpoint(local), Remote: messages.NewEndpoint(to)}
}

func (a *peerActor) recv(cmd proto.Message, max int, timeoutMS uint32, reply core.Replier) {
	op := messages.OpName(cmd)
	switch {
	case a.push != nil:
		reply.Reply(recvResult(cmd, a.status(op, netip.AddrPort{}, errPushMode), nil, netip.AddrPort{}, 0))
		return
	case !a.bound && !a.isConnected():
		reply.Reply(recvResult(cmd, a.status(op, netip.AddrPort{}, socket.ErrUDPNotBound), nil, netip.AddrPort{}, 0))
		return
	case max <= 0 || max > MaxDatagram+1:
		reply.Reply(recvResult(cmd, a.status(op, netip.AddrPort{}, socket.ErrInvalidArgument), nil, netip.AddrPort{}, 0))
		return
	}
	if a.recvs == nil {
		a.recvs = core.NewQueue(a.core, a.answerRecv).WaitsFor(poller.Readable, a.serveRecvs)
	}
	a.recvs.Push(recvReq{cmd: cmd, max: max}, reply, core.Timeout(timeoutMS))
}

// answerRecv answers a receive that ends unserved: timed out, withdrawn,
// refused or the socket closed.
func (a *peerActor) answerRecv(r *recvReq, reply core.Replier, err error) {
	reply.Reply(recvResult(r.cmd, a.status(messages.OpName(r.cmd), netip.AddrPort{}, err), nil, netip.AddrPort{}, 0))
}

func recvResult(cmd proto.Message, st *messages.Status, data []byte, from netip.AddrPort, length int) proto.Message {
	if _, ok := cmd.(*messages.Recv); ok {
		return &messages.RecvResult{Status: st, Data: data}
	}
	res := &messages.RecvFromResult{Status: st, Data: data, Length: uint64(length)}
	if from.IsValid() {
		res.Sender = messages.NewEndpoint(from)
	}
	return res
}

// serveRecvs answers the waiting receives, one datagram each, in order. A
// datagram longer than the request's max is answered truncated, with its
// real length; an error (an ICMP refusal in connected mode) answers one
// request.
func (a *peerActor) serveRecvs() {
	sock := a.core.Socket()
	for a.recvs.Len() > 0 {
		r := a.recvs.Head()
		sp := scratch.Get().(*[]byte)
		var n int
		var from netip.AddrPort
		var fromPath string
		var err error
		if sock.Domain() == socket.Unix {
			n, fromPath, err = sock.RecvFromUnix(*sp)
		} else {
			n, from, err = sock.RecvFrom(*sp)
		}
		a.core.Count(true, n, err)
		var data []byte
		if err == nil {
			data = append([]byte(nil), (*sp)[:min(n, r.max)]...)
		}
		scratch.Put(sp)
		if err == unix.EAGAIN {
			return
		}
		if err == nil && n > r.max {
			err = socket.ErrTruncated
		}
		res := recvResult(r.cmd, a.status(messages.OpName(r.cmd), from, err), data, from, n)
		if rf, ok := res.(*messages.RecvFromResult); ok && fromPath != "" {
			rf.Sender = messages.NewUnixEndpoint(fromPath)
		}
		a.recvs.Reply(res)
	}
}

func (a *peerActor) membership(cmd proto.Message, group *messages.Endpoint, iface string, join bool, jg *messages.JoinGroup) *messages.Status {
	op := messages.OpName(cmd)
	ap, err := group.AddrPort()
	if err != nil || !ap.Addr().IsMulticast() {
		return a.status(op, ap, socket.ErrInvalidAddress)
	}
	sock := a.core.Socket()
	if sock == nil {
		return a.status(op, ap, socket.ErrUDPNotBound)
	}
	ifindex, err := interfaceIndex(iface)
	if err != nil {
		return a.status(op, ap, err)
	}
	if !join {
		return a.status(op, ap, sock.LeaveGroup(ap.Addr(), ifindex))
	}
	if err := sock.JoinGroup(ap.Addr(), ifindex); err != nil {
		return a.status(op, ap, err)
	}
	if ifindex > 0 {
		err = sock.SetMulticastInterface(ifindex)
	}
	if err == nil && jg.GetTtl() > 0 {
		err = sock.SetMulticastTTL(int(jg.GetTtl()))
	}
	if err == nil {
		err = sock.SetMulticastLoopback(jg.GetLoopback())
	}
	return a.status(op, ap, err)
}

// SocketCore returns the actor's core.
func (a *peerActor) SocketCore() *core.Core { return a.core }
