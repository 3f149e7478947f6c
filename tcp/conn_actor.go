package tcp

import (
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// closeMode is how a push-mode connection is being closed.
type closeMode int

const (
	open       closeMode = iota
	flushing             // Close: flush the queue, then close (FIN)
	confirming           // CloseWrite: flush, FIN, wait for the peer's FIN
	closedConn           // the fd is closed; the actor is stopping
)

// connActor is a push-mode connection: one actor that owns the socket and
// runs the handler as its behaviour. It reads and calls the handler with
// each Received (data lent for the call), writes what the handler writes
// (at once, or from a byte-bounded queue), and tells it PeerClosed,
// Written, WriteFailed, the queue watermarks and Closed or ErrorClosed.
// Messages other actors send to its PID are the handler's, except the
// connection commands (Write, ResumeReading, Close, ConfirmedClose, Abort)
// and the socket commands every socket actor answers.
type connActor struct {
	core   *core.Core
	cfg    *serverConfig
	conn   Conn
	self   *actor.PID
	ctx    actor.Context // of the message being handled
	reply  core.Replier  // of an actors.Request being handled
	host   core.HandlerHost
	beh    behaviour   // nil once the handler stopped
	reg    *registered // set when events go to a registered actor
	remote netip.AddrPort
	live   *atomic.Int64 // the listener's live count

	cred    *socket.Cred // a Unix peer's credentials, read at the first Connected
	service string       // its listener's address ("unix:PATH" for a Unix one)
	credit  int          // read credit of a registered actor
	paused  bool         // PauseReading
	drained bool         // the last read found the socket empty; readiness wanted since
	eof     bool
	mode    closeMode
	queue   writeQueue
	queued  int
	filled  bool // WriteQueueFilled sent, WriteQueueDrained not yet
	// sending: the queue's front is in flight in a send of the poller's;
	// backlog: the socket was full at the last write, until the queue
	// empties; staged: the bytes of the queue's stages (conn_sends.go).
	sending, backlog bool
	staged           int

	reading   bool // serveReads is running
	kickLater bool // reading may resume once the handler returns

	cur *readBuf  // the buffer of the Received being handled
	fr  *framer   // with framing
	tls *tlsLayer // with TLS
	x   *connExtra

	idle idleCheck // WithIdleTimeout
}

// framer is a connection's framing state.
type framer struct {
	decoder decoder
	pending [][]byte // decoded frames waiting to be delivered
	recv    messages.Received
}

// connExtra is what a connection needs only once its handler retains
// buffers: most connections never allocate it, which keeps an idle
// connection small.
type connExtra struct {
	retained []*readBuf // buffers the handler retained
}

// extra returns the connection's connExtra, allocating it.
func (a *connActor) extra() *connExtra {
	if a.x == nil {
		a.x = &connExtra{}
	}
	return a.x
}

// retainedCount is the number of buffers the handler holds.
func (a *connActor) retainedCount() int {
	if a.x == nil {
		return 0
	}
	return len(a.x.retained)
}

var _ core.SocketActor = (*connActor)(nil)

// Events without fields are shared: handlers must not modify them.
var (
	peerClosedEvent = &messages.PeerClosed{}
	closedEvent     = &messages.Closed{}
)

// newConnActor builds the actor of an accepted connection.
func newConnActor(c *core.Core, cfg *serverConfig, remote netip.AddrPort, service string, live *atomic.Int64) (core.SocketActor, core.Protocol) {
	c.SetKind("tcp.conn")
	c.RunsHandlers()
	c.SetService(service)
	if cfg.blocking {
		c.RunOnPool()
	}
	if cfg.tls != nil || cfg.readSize >= poller.RecvBufSize {
		// The poller may receive for the connection (io_uring): its
		// bytes come lent in the poller's buffers, without read(2). A
		// smaller read size is a promise about each Received's size
		// that those buffers would break; with TLS they hold ciphertext,
		// copied into crypto/tls's (ringRead). The poller holds at most the
		// read credit in buffers for it while it does not read (paused,
		// credit spent), whatever its peer sends.
		c.UseRecv(cfg.credit)
	}
	a := &connActor{core: c, cfg: cfg, remote: remote, live: live, credit: cfg.credit, service: service}
	a.conn.a = a
	if cfg.framing != nil {
		a.fr = &framer{decoder: cfg.framing.newDecoder()}
	}
	return a, a
}

// SocketCore returns the actor's core.
func (a *connActor) SocketCore() *core.Core { return a.core }

// Receive handles the connection's lifecycle, readiness and commands, and
// hands every other message to the handler.
func (a *connActor) Receive(ctx actor.Context) {
	a.ctx = ctx
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.core.Handle(ctx)
		a.start(ctx)
		return
	case *actor.Stopping:
		if a.mode != closedConn {
			// Stopped from outside (a Stop, the system's stop): the
			// handler still hears why its connection ends.
			a.mode = closedConn
			a.endTLS()
			a.core.Close(messages.IOStatus_IO_STATUS_CANCELLED)
			a.deliver(&messages.ErrorClosed{Cause: a.status("stop", a.core.StopCause())}, nil)
		}
		a.core.Handle(ctx)
		a.lifecycle(m)
		return
	case *actor.Stopped:
		a.live.Add(-1) // out of its listener's live count
		a.core.Handle(ctx)
		a.lifecycle(m)
		a.dropLoans()
		return
	case idleTick:
		a.idleTick()
		return
	case handshakeTimeout:
		if t := a.tls; t != nil && !t.hsDone && a.mode != closedConn {
			t.abort(errHandshakeTimeout)
			a.handshakeFailed(errHandshakeTimeout)
		}
		return
	case *actor.Terminated:
		if a.reg != nil && m.GetWho().Equal(a.reg.pid) {
			a.terminate(ctx) // the registered actor died: nobody to serve
			return
		}
	}
	if a.core.Handle(ctx) {
		return
	}
	cmd, reply, ok := core.RequestOf(ctx)
	if ok && a.command(ctx, cmd, reply) {
		a.core.UpdateWants()
		return
	}
	msg := ctx.Message()
	if call, isCall := msg.(*core.Call); isCall {
		// A request (actors.Request) for the handler: it gets the
		// request itself, and its Respond answers the caller's future.
		msg, a.reply = call.Msg, call.Reply
	}
	a.deliver(msg, ctx.Sender())
	a.reply = nil
	a.core.UpdateWants()
}

// command runs a connection or socket command; false means msg is not
// one, and goes to the handler.
func (a *connActor) command(ctx actor.Context, cmd proto.Message, reply core.Replier) bool {
	switch cmd := cmd.(type) {
	case *messages.Write:
		_ = a.write(cmd.GetData(), cmd.GetAck(), true)
		if c := cmd.GetCredit(); c > 0 {
			a.resume(c)
		}
	case *messages.ResumeReading:
		a.resume(cmd.GetCredit())
	case *messages.Close:
		reply.Reply(a.closeStatus(cmd, a.startClose(flushing)))
	case *messages.ConfirmedClose:
		reply.Reply(a.closeStatus(cmd, a.startClose(confirming)))
	case *messages.Abort:
		if a.mode == closedConn {
			core.Reject(reply, cmd, messages.IOStatus_IO_STATUS_CLOSED)
			break
		}
		reply.Reply(&messages.Status{Op: "abort"})
		a.abort()
	default:
		return a.core.Command(ctx, cmd, reply)
	}
	return true
}

func (a *connActor) closeStatus(cmd proto.Message, err error) proto.Message {
	if err != nil {
		return messages.Rejection(cmd, messages.IOStatus_IO_STATUS_CLOSED)
	}
	return &messages.Status{Op: messages.OpName(cmd)}
}

func (a *connActor) start(ctx actor.Context) {
	a.self = ctx.Self()
	if a.core.Closed() {
		return // registration failed; the core is stopping the actor
	}
	a.idle.quiet = -1 // a connection that never moves a byte gets a whole timeout too
	// The poller reports the socket's state at registration (readable
	// and writable are wanted from the start): reading begins at its
	// first Ready, on the connection's own poller. A TLS connection's
	// handshake begins there too; its handler starts once it completes.
	if a.cfg.tls != nil {
		a.startTLS(ctx)
		return
	}
	a.begin()
}

// begin starts the handler: Started (to an actor handler), Connected.
func (a *connActor) begin() {
	a.beh = newBehaviour(a.cfg.handler)
	if r, ok := a.beh.(registered); ok {
		a.reg = &r
		a.ctx.Watch(r.pid)
	}
	a.lifecycle(startedEvent)
	a.deliver(a.connected(), nil)
}

var startedEvent = &actor.Started{}

func (a *connActor) connected() *messages.Connected {
	ev := &messages.Connected{
		Connection: messages.NewRef(a.self),
		Local:      messages.NewEndpoint(a.conn.LocalAddr()),
		Remote:     messages.NewEndpoint(a.remote),
	}
	if sock := a.core.Socket(); sock != nil && sock.Domain() == socket.Unix {
		if p, err := sock.LocalPath(); err == nil {
			ev.Local = messages.NewUnixEndpoint(p)
		}
		if a.cred == nil {
			if c, err := sock.PeerCred(); err == nil {
				a.cred = &c
			}
		}
		if a.cred != nil {
			ev.Peer = messages.NewCredentials(*a.cred)
		}
	}
	if a.tls != nil {
		ev.Tls = a.tls.proto()
	}
	return ev
}

// lifecycle passes the actor's lifecycle messages to an actor handler.
func (a *connActor) lifecycle(msg any) {
	if _, ok := a.beh.(*actorBehaviour); ok {
		a.deliver(msg, nil)
	}
}

// HandlerContext returns the context of the message being handled.
func (a *connActor) HandlerContext() actor.Context { return a.ctx }

// HandlerStrategy returns the server's handler strategy.
func (a *connActor) HandlerStrategy() actor.SupervisorStrategy { return a.cfg.strategy }

// RestartHandler replaces the handler with a fresh one, which starts with
// Connected (after Started, for an actor handler). Buffers the old handler
// retained are taken back.
func (a *connActor) RestartHandler() {
	if a.beh == nil || a.mode == closedConn {
		return
	}
	a.dropLoans()
	a.paused = false
	a.beh = newBehaviour(a.cfg.handler)
	a.lifecycle(startedEvent)
	a.deliver(a.connected(), nil)
	a.kick()
}

// StopHandler ends the connection: without its handler nobody serves it.
func (a *connActor) StopHandler() {
	if a.beh != nil {
		a.terminate(a.ctx)
	}
}

// respond answers the message being handled, if anyone waits for it.
func (a *connActor) respond(msg any) {
	switch sender := a.host.Sender(); {
	case a.reply != nil:
		a.reply.Reply(msg)
		a.reply = nil
	case sender != nil:
		a.ctx.Send(sender, msg)
	}
}

func (a *connActor) status(op string, err error) *messages.Status {
	if a.unix() {
		if sock := a.core.Socket(); sock != nil {
			if p, perr := sock.LocalPath(); perr == nil {
				return unixStatus(op, p, err)
			}
		}
		return unixStatus(op, "", err)
	}
	return messages.StatusOf(op, netFor(a.remote), a.remote, err)
}

// unix reports whether the connection is a Unix-domain one (accepted by a
// listener on a path).
func (a *connActor) unix() bool { return strings.HasPrefix(a.service, socket.UnixPrefix) }

func (a *connActor) opError(op string, err error) error {
	return &socket.OpError{Op: op, Net: netFor(a.remote), Addr: a.remote, Err: err}
}

func (a *connActor) startClose(mode closeMode) error {
	if a.mode != open {
		return a.opError(map[closeMode]string{flushing: "close", confirming: "closewrite"}[mode], errClosedConn)
	}
	a.mode = mode
	if a.tls != nil {
		a.tls.closeNotify()
	}
	if mode == confirming && a.eof {
		a.mode = flushing // the peer already closed: nothing to wait for
	}
	if a.queue.len() == 0 {
		a.flushThenClose()
	}
	return nil
}

// flushThenClose runs once the queue is empty: Close closes; CloseWrite
// sends FIN and goes on reading until the peer's FIN.
func (a *connActor) flushThenClose() {
	if a.queue.len() > 0 {
		return
	}
	switch a.mode {
	case flushing:
		a.finish("close", nil)
	case confirming:
		if err := a.core.Socket().Shutdown(socket.Write); err != nil {
			a.finish("shutdown", err)
			return
		}
		a.paused = false
		a.credit = max(a.credit, 1) // keep reading to see the FIN
		a.kick()
	}
}

// abort resets the connection: SO_LINGER 0, then close.
func (a *connActor) abort() {
	if sock := a.core.Socket(); sock != nil {
		_ = sock.SetLinger(0)
	}
	a.finish("abort", nil)
}

// finish closes the fd (queued writes fail), tells the handler Closed (err
// nil) or ErrorClosed with the failure of op, and stops the actor.
func (a *connActor) finish(op string, err error) {
	if a.mode == closedConn {
		return
	}
	a.mode = closedConn
	a.endTLS()
	a.core.Close(messages.IOStatus_IO_STATUS_CLOSED)
	if err != nil {
		a.deliver(&messages.ErrorClosed{Cause: a.status(op, err)}, nil)
	} else {
		a.deliver(closedEvent, nil)
	}
	a.ctx.Stop(a.self)
}

// terminate closes at once, with no events: the handler is gone.
func (a *connActor) terminate(ctx actor.Context) {
	a.beh = nil
	a.mode = closedConn
	a.endTLS()
	a.core.Close(messages.IOStatus_IO_STATUS_CLOSED)
	ctx.Stop(a.self)
}

// Cancel runs when the socket closes under the actor (stop, system stop):
// queued writes fail.
func (a *connActor) Cancel(code messages.IOStatus) {
	for a.queue.len() > 0 {
		if ack := a.queue.front().ack; ack != 0 {
			a.deliver(&messages.WriteFailed{Ack: ack, Status: &messages.Status{Code: code, Op: "write"}}, nil)
		}
		a.popWrite(a.sending)
		a.sending = false
	}
	a.queued = 0
}
