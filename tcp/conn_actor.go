package tcp

import (
	"fmt"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// closeMode is how a push-mode connection is being closed.
type closeMode int

const (
	open       closeMode = iota
	flushing             // Close: flush the queue, then close (FIN)
	confirming           // ConfirmedClose: flush, FIN, wait for the peer's FIN
	closedConn           // the fd is closed; the actor is stopping
)

// connActor is a push-mode connection: it reads under the handler's
// credit and sends Received, writes the handler's Writes from a
// byte-bounded queue and acknowledges each with Written, and reports
// PeerClosed, Closed and ErrorClosed. Its handler is its child: the
// handler's death closes the connection.
type connActor struct {
	core    *actors.Core
	cfg     *serverConfig
	self    *actor.PID
	handler *actor.PID
	remote  netip.AddrPort
	live    *atomic.Int64 // the listener's live count
	credit  int
	// drained: the last read found the socket empty (EAGAIN or a short
	// read, no hang-up), and no Ready has come since.
	drained bool
	eof     bool
	mode    closeMode
	queue   writeQueue
	queued  int
	filled  bool // WriteQueueFilled sent, WriteQueueDrained not yet

	decoder decoder   // with framing
	pending [][]byte  // decoded frames waiting for credit
	loans   []*[]byte // buffers lent in Received (WithLoanedReads), oldest first

	idle idleCheck // WithIdleTimeout
}

// idleCheck closes a connection that moves no bytes: every half idle
// timeout it compares the actor's read and write counts with the last
// check's; two checks in a row with no change close it. The data path pays
// nothing for it.
type idleCheck struct {
	id    uint64
	timer *time.Timer
	seen  uint64
	quiet int
}

// errIdle is the cause of an idle close.
var errIdle = fmt.Errorf("no bytes moved for the idle timeout: %w", os.ErrDeadlineExceeded)

var _ actor.Actor = (*connActor)(nil)

// connProps are the props of the connection actor of an accepted socket;
// its supervisor strategy is the handlers'.
func connProps(sys *actors.System, sock *socket.Socket, remote netip.AddrPort, cfg *serverConfig, service string, live *atomic.Int64) *actor.Props {
	live.Add(1)
	props := actors.SocketProps(sys, sock, func(c *actors.Core) (actor.Actor, actors.Hooks) {
		c.SetKind("tcp.conn")
		c.SetService(service)
		a := &connActor{core: c, cfg: cfg, remote: remote, credit: cfg.credit, live: live}
		if cfg.framing != nil {
			a.decoder = cfg.framing.newDecoder()
		}
		return a, actors.Hooks{Ready: a.ready, Wants: a.wants, Cancel: a.cancel, Expire: a.expire}
	})
	return props.Configure(actor.WithSupervisor(cfg.strategy))
}

// Receive handles the handler's commands; the core handles the rest.
func (a *connActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.core.Handle(ctx)
		a.start(ctx)
		return
	case *actor.Stopped:
		a.live.Add(-1) // out of its listener's live count
		a.core.Handle(ctx)
		return
	case *actor.Terminated:
		if m.GetWho().Equal(a.handler) {
			a.terminate(ctx) // the handler died: nobody to serve
		}
		return
	}
	a.core.Receive(ctx, func(cmd proto.Message, reply actors.Replier) bool {
		switch cmd := cmd.(type) {
		case *messages.Write:
			a.write(cmd)
			if c := cmd.GetCredit(); c > 0 {
				a.resume(c)
			}
		case *messages.ResumeReading:
			a.resume(cmd.GetCredit())
		case *messages.Close:
			a.startClose(flushing, cmd, reply)
		case *messages.ConfirmedClose:
			a.startClose(confirming, cmd, reply)
		case *messages.Abort:
			if sock := a.core.Socket(); sock != nil {
				_ = sock.SetLinger(0)
			}
			reply.Reply(&messages.Status{Op: "abort"})
			a.finish("abort", nil)
		default:
			return false
		}
		return true
	})
}

func (a *connActor) start(ctx actor.Context) {
	a.self = ctx.Self()
	if a.core.Closed() {
		return // registration failed; the core is stopping the actor
	}
	a.handler = ctx.Spawn(a.cfg.handler)
	sock := a.core.Socket()
	local, _ := sock.LocalAddr()
	a.tell(&messages.Connected{
		Connection: messages.NewRef(a.self),
		Local:      messages.NewEndpoint(local),
		Remote:     messages.NewEndpoint(a.remote),
	})
	if a.cfg.idle > 0 {
		a.armIdle()
	}
	a.core.Want(poller.Readable)
	a.serveReads()
	a.core.UpdateWants()
}

func (a *connActor) armIdle() {
	a.idle.id = a.core.NextID()
	a.idle.timer = a.core.After(a.cfg.idle/2, a.idle.id)
}

// expire runs the idle check.
func (a *connActor) expire(id uint64) bool {
	if id != a.idle.id || a.mode == closedConn {
		return false
	}
	k := a.core.Counters()
	seen := k.Reads.Load() + k.Writes.Load()
	if seen != a.idle.seen {
		a.idle.seen, a.idle.quiet = seen, 0
	} else if a.idle.quiet++; a.idle.quiet >= 2 {
		a.finish("idle", errIdle)
		return true
	}
	a.armIdle()
	return true
}

func (a *connActor) tell(msg proto.Message) {
	a.core.System().Root().Send(a.handler, msg)
}

func (a *connActor) status(op string, err error) *messages.Status {
	return messages.StatusOf(op, netFor(a.remote), a.remote, err)
}

func (a *connActor) startClose(mode closeMode, cmd proto.Message, reply actors.Replier) {
	if a.mode != open {
		actors.Reject(reply, cmd, messages.IOStatus_IO_STATUS_CLOSED)
		return
	}
	a.mode = mode
	reply.Reply(&messages.Status{Op: messages.OpName(cmd)})
	if mode == confirming && a.eof {
		a.mode = flushing // the peer already closed: nothing to wait for
	}
	if a.queue.len() == 0 {
		a.flushThenClose()
	}
}

// flushThenClose runs once the queue is empty: Close closes; ConfirmedClose
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
		a.credit = max(a.credit, 1) // keep reading to see the FIN
		a.core.Want(poller.Readable)
		a.serveReads()
	}
}

// finish closes the fd and tells the handler Closed (err nil) or
// ErrorClosed with the failure of op, then a PoisonPill: the handler
// handles the last event, stops, and its Terminated stops this actor.
func (a *connActor) finish(op string, err error) {
	if a.mode == closedConn {
		return
	}
	a.mode = closedConn
	if err != nil {
		a.tell(&messages.ErrorClosed{Cause: a.status(op, err)})
	} else {
		a.tell(&messages.Closed{})
	}
	a.core.Close(messages.IOStatus_IO_STATUS_CLOSED)
	a.core.System().Root().Send(a.handler, &actor.PoisonPill{})
}

// terminate closes at once, with no events: the handler is gone.
func (a *connActor) terminate(ctx actor.Context) {
	a.mode = closedConn
	a.core.Close(messages.IOStatus_IO_STATUS_CLOSED)
	ctx.Stop(a.self)
}

func (a *connActor) ready(d poller.Direction) {
	if d == poller.Readable {
		a.drained = false
		a.serveReads()
	} else {
		a.serveWrites()
	}
}

func (a *connActor) wants(d poller.Direction) bool {
	if d == poller.Readable {
		return a.readable()
	}
	return a.queue.len() > 0
}

// cancel runs when the socket closes under the actor (stop, system stop):
// queued writes fail.
func (a *connActor) cancel(code messages.IOStatus) {
	if a.idle.timer != nil {
		a.idle.timer.Stop()
	}
	for a.queue.len() > 0 {
		a.tell(&messages.WriteFailed{Ack: a.queue.front().ack, Status: &messages.Status{Code: code, Op: "write"}})
		a.queue.pop()
	}
	a.queued = 0
}
