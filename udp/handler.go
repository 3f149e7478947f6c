package udp

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/socket"
)

// Handler is the behaviour of a push-mode peer (Serve, StartService).
// Receive runs as the peer actor's behaviour: one call at a time, for each
// datagram and for each message other actors send to the peer's PID that
// is not a peer command. What it gets:
//
//   - *messages.Datagram for each datagram read: the message and its Data
//     are lent for the call (copy Data, or see Conn.Retain, to keep it;
//     Conn.From is the sender as a netip.AddrPort); reading goes on when
//     Receive returns unless it called PauseReading;
//   - any other message sent to the peer's PID, with Conn.Sender set;
//   - *messages.Closed last, once the peer's socket is closed (by
//     Conn.Close, Peer.Close, or the actor's stop).
//
// A Handler keeps state across calls only through PerSocket (a fresh one
// per peer and per restart) or ActorHandler. Receive runs on the poller's
// goroutine: it must not block (no Future.Wait, no blocking I/O, no
// sleeping) unless the peer runs WithBlockingHandlers.
type Handler interface {
	Receive(c *Conn, msg any)
}

// HandlerFunc is a stateless Handler.
type HandlerFunc func(c *Conn, msg any)

// Receive calls f(c, msg).
func (f HandlerFunc) Receive(c *Conn, msg any) { f(c, msg) }

// PerSocket returns a Handler that gives each peer its own Handler from
// newHandler, and a fresh one when the supervisor restarts it after a
// panic (or a Service binds a new peer): state kept in the Handler's
// fields starts again with it.
func PerSocket(newHandler func() Handler) Handler { return perSocket(newHandler) }

type perSocket func() Handler

func (perSocket) Receive(*Conn, any) {}

// ActorHandler returns a Handler that runs a Proto.Actor actor from
// producer as the peer's behaviour: its Receive gets an actor.Context
// whose Self is the peer's PID and whose Message is the datagram or the
// message another actor sent (*actor.Started first, *actor.Stopping and
// *actor.Stopped at the end). ConnOf(ctx) gives the Conn handle. A restart
// by the supervisor produces a new actor (fresh state) on the same socket.
func ActorHandler(producer actor.Producer) Handler { return actorHandler(producer) }

type actorHandler actor.Producer

func (actorHandler) Receive(*Conn, any) {}

// ConnOf returns the Conn of the push-mode peer whose behaviour is running
// with ctx (an ActorHandler's context), or nil.
func ConnOf(ctx actor.Context) *Conn {
	if a, ok := ctx.Actor().(*peerActor); ok && a.push != nil {
		return &a.conn
	}
	return nil
}

// errNilHandler refuses a handler that could never handle anything.
var errNilHandler = fmt.Errorf("%w: nil handler", socket.ErrInvalidArgument)

// checkHandler refuses a nil handler, including the forms that wrap nil
// (HandlerFunc(nil), PerSocket(nil), ActorHandler(nil)).
func checkHandler(h Handler) error {
	switch h := h.(type) {
	case nil:
		return errNilHandler
	case HandlerFunc:
		if h == nil {
			return errNilHandler
		}
	case perSocket:
		if h == nil {
			return errNilHandler
		}
	case actorHandler:
		if h == nil {
			return errNilHandler
		}
	}
	return nil
}

// behaviour is one handler instance on one peer.
type behaviour interface {
	receive(a *peerActor, msg any)
}

// newBehaviour builds the handler instance for a peer.
func newBehaviour(h Handler) behaviour {
	switch h := h.(type) {
	case perSocket:
		return plain{h()}
	case actorHandler:
		return &actorBehaviour{a: actor.Producer(h)()}
	}
	return plain{h}
}

type plain struct{ h Handler }

func (p plain) receive(a *peerActor, msg any) { p.h.Receive(&a.conn, msg) }

// actorBehaviour runs a Proto.Actor actor with a context whose Message is
// the message being delivered.
type actorBehaviour struct {
	a   actor.Actor
	ctx *core.EventContext
}

func (b *actorBehaviour) receive(a *peerActor, msg any) {
	if b.ctx == nil {
		b.ctx = core.NewEventContext(&a.conn)
	}
	b.ctx.Run(b.a, a.ctx, msg, a.host.Sender())
}
