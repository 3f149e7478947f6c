package tcp

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// Handler is the behaviour of push-mode connections (Serve, StartService).
// Receive runs as the connection actor's behaviour: one call at a time per
// connection, for each event of the connection and for each message other
// actors send to the connection's PID. The events, in order:
//
//   - *messages.Connected first (again after a restart by the supervisor);
//   - *messages.Received for each read (one frame with WithFraming): its
//     Data is lent for the call (see Conn.Retain to keep it);
//     reading goes on when Receive returns unless it called PauseReading;
//   - *messages.PeerClosed when the peer half-closes: once Receive
//     returns, what it wrote is flushed and the connection closes (unless
//     WithKeepOpen, or it already closed);
//   - *messages.Written / *messages.WriteFailed for writes with an ack;
//   - *messages.WriteQueueFilled / *messages.WriteQueueDrained around the
//     write queue's high and low watermarks (reading pauses in between);
//   - *messages.Closed or *messages.ErrorClosed last.
//
// A Handler is shared by every connection of its server, so it keeps
// per-connection state only through PerConnection or ActorHandler. Receive
// runs on the poller's goroutine: it must not block (no Future.Wait, no
// blocking I/O, no sleeping) unless the server runs WithBlockingHandlers.
type Handler interface {
	Receive(c *Conn, msg any)
}

// HandlerFunc is a stateless Handler.
type HandlerFunc func(c *Conn, msg any)

// PerConnection returns a Handler that gives every connection its own
// Handler from newHandler, and a fresh one when the supervisor restarts
// it: state kept in the Handler's fields is the connection's.
func PerConnection(newHandler func() Handler) Handler { return perConnection(newHandler) }

type perConnection func() Handler

func (perConnection) Receive(*Conn, any) {}

// ActorHandler returns a Handler that runs a Proto.Actor actor from
// producer as each connection's behaviour: its Receive gets an
// actor.Context whose Self is the connection's PID and whose Message is
// the event or the message another actor sent (*actor.Started first, then
// the events listed at Handler; *actor.Stopping and *actor.Stopped at the
// end). ConnOf(ctx) gives the Conn handle. A restart by the
// supervisor produces a new actor (fresh state) on the same connection.
func ActorHandler(producer actor.Producer) Handler { return actorHandler(producer) }

type actorHandler actor.Producer

func (actorHandler) Receive(*Conn, any) {}

// Register returns a Handler that delivers each connection's events to an
// existing actor, as Akka IO's Register does: the actor at pid gets
// Connected (its connection field is the connection's PID), copies of the data
// in Received, and the other events, each sent with the connection as
// sender; it drives the connection with messages (Write, ResumeReading,
// Close, ConfirmedClose, Abort). Reading is under credit: after
// WithReadCredit Received, the connection reads only once the actor sends
// ResumeReading. After PeerClosed the connection stays open until the
// actor closes it (so its answers are not cut off). The connection
// watches the actor: its death closes the connection. pid may be on
// another node.
func Register(pid *actor.PID) Handler { return registered{pid: pid} }

type registered struct{ pid *actor.PID }

func (registered) Receive(*Conn, any) {}

// ConnOf returns the Conn of the connection actor whose
// behaviour is running with ctx (an ActorHandler's context), or nil.
func ConnOf(ctx actor.Context) *Conn {
	if a, ok := ctx.Actor().(*connActor); ok {
		return &a.conn
	}
	return nil
}

// errNilHandler refuses a handler that could never handle anything.
var errNilHandler = fmt.Errorf("%w: nil handler", socket.ErrInvalidArgument)

// checkHandler refuses a nil handler, including the forms that wrap nil
// (HandlerFunc(nil), PerConnection(nil), ActorHandler(nil), Register(nil)).
func checkHandler(h Handler) error {
	switch h := h.(type) {
	case nil:
		return errNilHandler
	case HandlerFunc:
		if h == nil {
			return errNilHandler
		}
	case perConnection:
		if h == nil {
			return errNilHandler
		}
	case actorHandler:
		if h == nil {
			return errNilHandler
		}
	case registered:
		if h.pid == nil {
			return errNilHandler
		}
	}
	return nil
}

// behaviour is one handler instance on one connection.
type behaviour interface {
	receive(a *connActor, msg any)
}

// newBehaviour builds the handler instance for a connection.
func newBehaviour(h Handler) behaviour {
	switch h := h.(type) {
	case perConnection:
		return &plain{h()}
	case actorHandler:
		return &actorBehaviour{a: actor.Producer(h)()}
	case registered:
		return h
	}
	return &plain{h}
}

type plain struct{ h Handler }

// actorBehaviour runs a Proto.Actor actor with a context whose Message is
// the message being delivered.
type actorBehaviour struct {
	a   actor.Actor
	ctx *core.EventContext
}

func (b *actorBehaviour) receive(a *connActor, msg any) {
	if b.ctx == nil {
		b.ctx = core.NewEventContext(&a.conn)
	}
	b.ctx.Run(b.a, a.ctx, msg, a.host.Sender())
}

// receive sends events to the registered actor, with copies of lent data.
func (r registered) receive(a *connActor, msg any) {
	switch m := msg.(type) {
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
		return
	case *messages.Received:
		msg = &messages.Received{Data: append([]byte(nil), m.GetData()...)}
	case proto.Message:
	default:
		return // not protobuf: cannot leave the node, and not an event
	}
	a.ctx.RequestWithCustomSender(r.pid, msg, a.self)
}
