package udp

// Push mode: the handler is the peer actor's behaviour. The peer reads
// datagrams into its own buffers and calls the handler inline with each
// one, lent for the call; the handler answers through its Conn.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

var errPushMode = fmt.Errorf("%w: push-mode peer delivers to its handler", socket.ErrInvalidArgument)

// Serve binds a push-mode peer on addr with h as its behaviour: h.Receive
// runs inside the peer's actor with each datagram (lent for the call) and
// each message other actors send to the peer's PID, and answers through
// its Conn (SendTo, PauseReading, Close...). Reading resumes by itself
// when Receive returns. A slow handler makes the kernel drop datagrams,
// never the process grow: the drops are counted (Stats). A handler panic
// goes to WithHandlerSupervisor's strategy. The returned Peer is the
// peer's handle (Close, Stats, LocalAddr); RecvFrom on it is refused.
func Serve(ctx context.Context, sys *actors.System, addr string, h Handler, opts ...ServeOption) (*Peer, error) {
	if err := actors.Precheck(ctx, sys, "bind", "udp"); err != nil {
		return nil, err
	}
	if err := checkHandler(h); err != nil {
		return nil, &socket.OpError{Op: "serve", Net: "udp", Err: err}
	}
	props, o, err := pushProps(sys, h, opts)
	if err != nil {
		return nil, &socket.OpError{Op: "bind", Net: "udp", Err: err}
	}
	pid, err := sys.Runtime().SpawnSocketActor(props)
	if err != nil {
		return nil, err
	}
	return bindSpawned(ctx, sys, pid, addr, o)
}

// pushProps returns the props of a push-mode peer (reusable: each spawn is
// a new peer) and its socket options; the error is that of the first
// invalid option (an *socket.OptionError).
func pushProps(sys *actors.System, h Handler, opts []ServeOption) (*actor.Props, *messages.Options, error) {
	cfg := &serveConfig{sys: sys, handler: h, strategy: actor.DefaultSupervisorStrategy(), credit: DefaultReadCredit,
		readSize: DefaultReadSize, sendQueue: DefaultSendQueue, opts: &messages.Options{}}
	for _, o := range opts {
		if o == nil {
			cfg.fail(errNilOption)
			continue
		}
		o.applyServe(cfg)
	}
	if cfg.err != nil {
		return nil, nil, cfg.err
	}
	o := cfg.opts
	props := core.SocketProps(sys.Runtime(), nil, func(c *core.Core) (core.SocketActor, core.Protocol) {
		a := newPeerActor(c, o, cfg)
		return a, a.hooks()
	})
	return props, o, nil
}

// Stats returns a push-mode peer's counters.
func (p *Peer) Stats(ctx context.Context) (*messages.PeerStats, error) {
	return actors.Await(ctx, p.System(), p.PID(), request[*messages.PeerStats](p, &messages.GetStats{}))
}

// Events without fields are shared: handlers must not modify them.
var (
	closedEvent  = &messages.Closed{}
	startedEvent = &actor.Started{}
)

// receivePush is a push-mode peer's Receive: lifecycle, readiness and
// commands, and every other message to the handler.
func (a *peerActor) receivePush(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Stopping:
		if !a.ended {
			// Stopped from outside (Peer.Close, the system's stop): the
			// handler still hears that its peer ends.
			a.ended = true
			a.core.Close(messages.IOStatus_IO_STATUS_CANCELLED)
			if cause := a.core.StopCause(); errors.Is(cause, socket.ErrPolling) {
				// Its poller failed or stopped: the handler hears why.
				a.deliver(&messages.ErrorClosed{Cause: a.status("stop", netip.AddrPort{}, cause)}, nil)
			} else {
				a.deliver(closedEvent, nil)
			}
		}
		a.core.Handle(ctx)
		a.lifecycle(m)
		return
	case *actor.Stopped:
		a.core.Handle(ctx)
		a.lifecycle(m)
		a.dropLoans()
		a.dropInbox()
		return
	}
	if a.core.Handle(ctx) {
		return
	}
	if cmd, reply, ok := core.RequestOf(ctx); ok {
		if a.command(cmd, reply) || a.core.Command(ctx, cmd, reply) {
			a.core.UpdateWants()
			return
		}
		if _, call := ctx.Message().(*core.Call); call {
			// A request from a Go handle waits for an answer the handler
			// would not know to give.
			core.Reject(reply, cmd, messages.IOStatus_IO_STATUS_INVALID_ARGUMENT)
			return
		}
	}
	a.deliver(ctx.Message(), ctx.Sender())
	a.core.UpdateWants()
}

// startPush runs once the peer is bound: the handler starts and reading
// begins.
func (a *peerActor) startPush() {
	if err := a.core.Socket().SetRecvDrops(true); err != nil {
		a.core.Runtime().Root().ActorSystem().Logger().Error("udp: SO_RXQ_OVFL not available: drops are not counted", "err", err)
	}
	a.beh = newBehaviour(a.push.handler)
	a.lifecycle(startedEvent)
	a.kick()
}

// lifecycle passes the actor's lifecycle messages to an actor handler.
func (a *peerActor) lifecycle(msg any) {
	if _, ok := a.beh.(*actorBehaviour); ok {
		a.deliver(msg, nil)
	}
}

// servePush lends the handler the datagrams read, and reads more (a batch
// per system call, see push_batch.go), up to readBatch datagrams per
// readiness, while the handler takes them; the kernel's drop count rides
// on the datagrams. A round that ends with datagrams perhaps still
// waiting asks the poller for another Ready (edge-triggered readiness
// brings no new edge for them) and returns: the poller serves its other
// sockets first, and a flood never holds it in one delivery. What the
// handler sent meanwhile goes out as the round ends.
func (a *peerActor) servePush() {
	if a.reading {
		return // the loop below is running and looks again
	}
	a.reading = true
	i := 0 // datagrams delivered
	defer func() {
		a.reading = false
		a.flushSends()
		if reg := a.core.Registration(); reg != nil {
			reg.Worked(i) // one Ready, i datagrams: the loop's work
		}
	}()
	for errs := 0; a.readable(); {
		if a.inboxLen() > 0 {
			a.deliverNext()
			i++
			continue
		}
		if i >= readBatch {
			if reg := a.core.Registration(); reg != nil {
				reg.Again(poller.Readable)
			}
			return
		}
		if err := a.readSome(readBatch - i); err != nil {
			if err == unix.EAGAIN {
				return
			}
			// The error of one earlier send (an ICMP report): read on.
			if errs++; errs == maxRecvErrors {
				return
			}
		}
	}
}

// lend hands the handler the Datagram over b for the call; b comes back
// when the call returns unless the handler retained it.
func (a *peerActor) lend(b *readBuf, n int, from netip.AddrPort, truncated bool) {
	b.N = n
	a.cur = b
	a.from = from
	ip := from.Addr()
	if ip.Is4() {
		v4 := ip.As4()
		copy(a.ip[:], v4[:])
		a.senderEP.Ip = a.ip[:4]
	} else {
		a.ip = ip.As16()
		a.senderEP.Ip = a.ip[:]
	}
	a.senderEP.Port, a.senderEP.Zone = uint32(from.Port()), ip.Zone()
	a.senderEP.Path = a.fromPath
	if !from.IsValid() { // a Unix sender: its path, if it has one
		a.senderEP.Ip, a.senderEP.Port, a.senderEP.Zone = nil, 0, ""
	}
	a.dgram.Sender, a.dgram.Data, a.dgram.Truncated = &a.senderEP, b.Data[:n:n], truncated
	a.deliver(&a.dgram, nil)
	a.dgram.Data, a.from, a.fromPath = nil, netip.AddrPort{}, ""
	if a.cur != nil {
		a.putBuf(a.cur)
		a.cur = nil
	}
}

// getBuf returns a free read buffer. At most WithReadCredit are retained
// and one is being handled, so the free list stays as short.
func (a *peerActor) getBuf() *readBuf {
	if n := len(a.free); n > 0 {
		b := a.free[n-1]
		a.free[n-1] = nil
		a.free = a.free[:n-1]
		return b
	}
	return &readBuf{Data: make([]byte, a.push.readSize)}
}

// putBuf takes b back; its generation moves on, so no Loan of it works
// after.
func (a *peerActor) putBuf(b *readBuf) {
	b.Recycle()
	a.free = append(a.free, b)
}

// retain moves the buffer of the Datagram being handled to the retained
// list and returns its Loan.
func (a *peerActor) retain() Loan {
	if a.cur == nil {
		return Loan{}
	}
	b := a.cur
	a.cur = nil
	a.retained = append(a.retained, b)
	return b.Lend(a)
}

// ReleaseLoan takes a retained buffer back, by identity, and reads again
// if the retained buffers were what held reading back.
func (a *peerActor) ReleaseLoan(b *readBuf) {
	for i, r := range a.retained {
		if r == b {
			a.retained = append(a.retained[:i], a.retained[i+1:]...)
			a.putBuf(b)
			a.kick()
			return
		}
	}
}

// dropLoans takes back every retained buffer (the handler that held them
// is gone); their Loans stop working.
func (a *peerActor) dropLoans() {
	for i, b := range a.retained {
		a.putBuf(b)
		a.retained[i] = nil
	}
	a.retained = a.retained[:0]
}

// readable reports whether the peer should read now.
func (a *peerActor) readable() bool {
	return a.beh != nil && !a.paused && !a.closing && !a.core.Closed() && len(a.retained) < a.push.credit
}

// kick reads if the peer became readable. While the handler runs it only
// notes it: reading resumes when the handler returns.
func (a *peerActor) kick() {
	if a.host.Running() {
		a.kickLater = true
		return
	}
	if !a.readable() {
		return
	}
	a.core.Want(poller.Readable)
	a.servePush()
}

// deliver hands msg to the handler (see core.HandlerHost: events raised
// while it runs wait until it returns), then reads if the handler made
// the peer readable again.
func (a *peerActor) deliver(msg any, sender *actor.PID) {
	if a.host.Deliver(a, msg, sender) && a.kickLater && !a.reading {
		a.kickLater = false
		a.kick()
	}
}

// HandleMessage runs the handler on one message (core.HandlerOwner).
func (a *peerActor) HandleMessage(msg any) {
	if a.beh != nil {
		a.beh.receive(a, msg)
	}
}

// HandlerContext returns the context of the message being handled.
func (a *peerActor) HandlerContext() actor.Context { return a.ctx }

// HandlerStrategy returns the peer's handler strategy.
func (a *peerActor) HandlerStrategy() actor.SupervisorStrategy { return a.push.strategy }

// RestartHandler replaces the handler with a fresh one (which gets
// Started first, for an actor handler). Buffers the old handler retained
// are taken back.
func (a *peerActor) RestartHandler() {
	if a.beh == nil || a.ended {
		return
	}
	a.dropLoans()
	a.paused = false
	a.beh = newBehaviour(a.push.handler)
	a.lifecycle(startedEvent)
	a.kick()
}

// StopHandler closes the peer: without its handler nobody serves it.
func (a *peerActor) StopHandler() {
	if a.beh != nil {
		a.terminate()
	}
}

// closePush is Conn.Close: the peer closes once its send queue is empty.
func (a *peerActor) closePush() error {
	if a.closing || a.core.Closed() {
		return a.opError("close", netip.AddrPort{}, net.ErrClosed)
	}
	a.closing = true
	a.flushSends()
	if a.sends == nil || a.sends.Len() == 0 {
		a.endPush()
	}
	return nil
}

// endPush closes the socket, tells the handler Closed and stops the actor.
func (a *peerActor) endPush() {
	if a.ended {
		return
	}
	a.ended = true
	a.core.Close(messages.IOStatus_IO_STATUS_CLOSED)
	a.deliver(closedEvent, nil)
	a.ctx.Stop(a.core.Self())
}

// terminate closes at once, with no events: the handler is gone.
func (a *peerActor) terminate() {
	a.beh = nil
	a.ended = true
	a.core.Close(messages.IOStatus_IO_STATUS_CLOSED)
	a.ctx.Stop(a.core.Self())
}
