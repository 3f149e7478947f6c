package core

// The machinery tcp's connections and udp's peers share to run a push-mode
// handler inside a socket actor: the host that calls it, the context an
// actor handler sees, and the loans of read buffers. The host's call of
// the handler (Deliver) is in path.go.

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// HandlerOwner is a socket actor that runs a push-mode handler inside it,
// as a HandlerHost drives it.
type HandlerOwner interface {
	// HandleMessage runs the handler on msg.
	HandleMessage(msg any)
	// HandlerContext is the context of the message the actor is handling.
	HandlerContext() actor.Context
	// HandlerStrategy decides what a handler panic does.
	HandlerStrategy() actor.SupervisorStrategy
	// RestartHandler replaces the handler with a fresh one.
	RestartHandler()
	// StopHandler ends the socket: its handler failed for good.
	StopHandler()
}

// HandlerHost runs a socket actor's push-mode handler: one message at a
// time; events the actor raises while the handler runs (a Written for a
// write it just made, Closed after its Close) are delivered once it
// returns; a panic goes to the owner's strategy as a child actor's would
// (restart, stop, resume, escalate: stop). It belongs to its actor and is
// used only from its Receive. The zero value is ready, and costs a socket
// that never defers an event or fails two words.
type HandlerHost struct {
	running bool
	sender  *actor.PID
	x       *hostExtra
}

type hostExtra struct {
	deferred []any
	rs       *actor.RestartStatistics
}

// Running reports whether the handler is running.
func (h *HandlerHost) Running() bool { return h.running }

// Sender returns the sender of the message the handler is handling: nil
// for the actor's own events.
func (h *HandlerHost) Sender() *actor.PID { return h.sender }

// failed hands a handler panic to the owner's strategy, with the owner as
// the supervisor and the failed child.
func (h *HandlerHost) failed(o HandlerOwner, reason, msg any) {
	if h.x == nil {
		h.x = &hostExtra{}
	}
	if h.x.rs == nil {
		h.x.rs = actor.NewRestartStatistics()
	}
	ctx := o.HandlerContext()
	ctx.Logger().Error("actornet: a push-mode handler panicked; its strategy decides what follows",
		"pid", ctx.Self().String(), "reason", fmt.Sprint(reason), "message", fmt.Sprintf("%T", msg), "stack", string(debug.Stack()))
	o.HandlerStrategy().HandleFailure(ctx.ActorSystem(), hostSupervisor{o: o, self: ctx.Self()}, ctx.Self(), h.x.rs, reason, msg)
}

// hostSupervisor is the actor.Supervisor a strategy acts through.
type hostSupervisor struct {
	o    HandlerOwner
	self *actor.PID
}

var _ actor.Supervisor = hostSupervisor{}

func (s hostSupervisor) Children() []*actor.PID        { return []*actor.PID{s.self} }
func (s hostSupervisor) EscalateFailure(any, any)      { s.o.StopHandler() }
func (s hostSupervisor) RestartChildren(...*actor.PID) { s.o.RestartHandler() }
func (s hostSupervisor) StopChildren(...*actor.PID)    { s.o.StopHandler() }
func (s hostSupervisor) ResumeChildren(...*actor.PID)  {}

// EventContext is the actor.Context an actor handler (tcp.ActorHandler,
// udp.ActorHandler) runs with: its socket actor's context, whose Message
// and Sender are those of the message being delivered, and whose Respond
// answers it through responder.
type EventContext struct {
	actor.Context
	msg       any
	sender    *actor.PID
	responder interface{ Respond(any) }
}

// NewEventContext returns the context for an actor handler whose Respond
// goes through responder (the socket's handle).
func NewEventContext(responder interface{ Respond(any) }) *EventContext {
	return &EventContext{responder: responder}
}

// Run runs a on msg from sender (nil for the socket's own event) with
// ctx, the socket actor's context.
func (c *EventContext) Run(a actor.Actor, ctx actor.Context, msg any, sender *actor.PID) {
	c.Context, c.msg, c.sender = ctx, msg, sender
	a.Receive(c)
	c.msg = nil
}

// Message returns the message being delivered.
func (c *EventContext) Message() any { return c.msg }

// Sender returns its sender: nil for the socket's own events.
func (c *EventContext) Sender() *actor.PID { return c.sender }

// Respond answers the message being delivered.
func (c *EventContext) Respond(response any) { c.responder.Respond(response) }

// MessageHeader is empty for the socket's own events.
func (c *EventContext) MessageHeader() actor.ReadonlyMessageHeader {
	if c.sender == nil {
		return actor.EmptyMessageHeader
	}
	return c.Context.MessageHeader()
}

// ReceiveTimeout is not supported for handlers (Proto.Actor's timer races,
// upstream #1139): use a timer of your own.
func (c *EventContext) ReceiveTimeout() time.Duration { return 0 }

// LentBuffer is a pooled read buffer a socket actor lends its handler for
// a call; the handler keeps it past the call only through a Loan.
type LentBuffer struct {
	// Data is the whole buffer; N, the bytes the read put in it.
	Data []byte
	N    int
	gen  uint32
	// owner is the actor it is lent by, while retained.
	owner LoanOwner
}

// LoanOwner takes back a retained buffer when its Loan is released.
type LoanOwner interface {
	ReleaseLoan(b *LentBuffer)
}

// Lend marks b retained by owner's handler and returns its Loan.
func (b *LentBuffer) Lend(owner LoanOwner) Loan {
	b.owner = owner
	return Loan{b: b, gen: b.gen}
}

// Recycle is called when b goes back to its pool: every Loan of it stops
// working.
func (b *LentBuffer) Recycle() {
	b.gen++
	b.N, b.owner = 0, nil
}

// LoanOf returns a Loan over bytes the handler owns already (a decoded
// frame): its Release does nothing.
func LoanOf(p []byte) Loan {
	return Loan{b: &LentBuffer{Data: p, N: len(p)}}
}

// Loan is a read buffer a handler retained (tcp's Connection.Retain,
// udp's Conn.Retain). It is a small value; copies share the buffer.
type Loan struct {
	b   *LentBuffer
	gen uint32
}

// Bytes returns the retained data; nil once released.
func (l Loan) Bytes() []byte {
	if l.b == nil || l.b.gen != l.gen {
		return nil
	}
	return l.b.Data[:l.b.N:l.b.N]
}

// Release gives the buffer back to its socket; it may be reused at once,
// so Bytes must not be used after. Release belongs to the socket's actor,
// like the handle's methods; a second Release of the same Loan does
// nothing.
func (l Loan) Release() {
	if l.b == nil || l.b.gen != l.gen || l.b.owner == nil {
		return
	}
	l.b.owner.ReleaseLoan(l.b)
}
