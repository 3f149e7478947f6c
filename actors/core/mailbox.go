package core

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/poller"
)

// inlineMailbox is the mailbox of socket actors. It runs the actor on the
// goroutine that posts to it (the poller's, for readiness; the caller's,
// for requests), one poster at a time, so readiness reaches the syscall
// with no goroutine hop and no allocation: messages sit in two growable
// rings that are reused. Socket actors only make non-blocking syscalls, so
// running them inline never blocks the poster for long. A socket actor
// whose behaviour may block (a push-mode connection with a blocking
// handler) says so (Core.RunOnPool): the mailbox then runs on the system's
// worker pool instead of the poster's goroutine.
//
// Once the actor has stopped (reject is set), requests still queued or
// arriving are answered as closed instead of being dropped. Its posting
// and running (post, run) are in path.go.
type inlineMailbox struct {
	// inbox is the mailbox as its registration's poller.Inbox: the
	// poller's loop posts Ready messages here directly (Core.register).
	inbox     poller.Inbox
	mu        sync.Mutex
	user      ring
	system    ring
	running   bool
	suspended bool
	reject    bool
	invoker   actor.MessageInvoker
	// core is the socket actor's, which takes its Ready messages
	// (invokeUser).
	core *Core
	// dispatcher, when set, runs the mailbox (drain) instead of the poster.
	dispatcher actor.Dispatcher
	drain      func()
	// parked: hold Started and user messages until the first Ready (or
	// another system message, a Stop) arrives (Core.Park).
	parked bool
	// onLoop: the run in progress was started inline by a Ready, so it
	// runs on the goroutine of the poller's loop (Core.OnLoop). Written
	// under mu by the goroutine that claims running; read by that
	// goroutine alone while it runs.
	onLoop bool
}

var _ actor.Mailbox = (*inlineMailbox)(nil)

// NewInlineMailbox returns the mailbox socket actors run on (SocketProps
// uses it): messages are handled on the poster's goroutine, one at a
// time, with no allocation per message.
func NewInlineMailbox() actor.Mailbox {
	m := &inlineMailbox{}
	m.inbox = m
	return m
}

// SocketActor is an actor built around a Core (see SocketProps). Its
// Receive never sees a poller.Ready: the mailbox hands readiness to the
// core, which passes it on through the actor's Protocol.
type SocketActor interface {
	actor.Actor
	// SocketCore returns the actor's core.
	SocketCore() *Core
}

// deliverDirect has reg's poller post Ready messages straight into the
// actor's mailbox (poller.Registration.DeliverTo), without the PID's
// process lookup.
func (c *Core) deliverDirect(reg *poller.Registration) {
	if c.mb != nil {
		reg.DeliverTo(&c.mb.inbox)
	}
}

func (m *inlineMailbox) PostSystemMessage(msg interface{}) { m.post(&m.system, msg) }

// RegisterHandlers links the mailbox to its actor's core, which tells it
// when the actor stopped and whether to run on a dispatcher.
func (m *inlineMailbox) RegisterHandlers(invoker actor.MessageInvoker, _ actor.Dispatcher) {
	m.invoker = invoker
	if ctx, ok := invoker.(actor.Context); ok {
		if sa, ok := ctx.Actor().(SocketActor); ok {
			core := sa.SocketCore()
			core.mb = m
			m.core = core
			m.parked = core.parked
			if core.onPool {
				m.dispatcher, m.drain = core.rt.dispatcher, m.run
			}
		}
	}
}

func (m *inlineMailbox) Start() {}

func (m *inlineMailbox) UserMessageCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.user.len()
}

// stopped switches the mailbox to answering requests as closed.
func (m *inlineMailbox) stopped() {
	m.mu.Lock()
	m.reject = true
	// A failed actor's mailbox is suspended; once it has stopped, what
	// waits in it is answered (closed), not left suspended for ever.
	m.suspended = false
	m.mu.Unlock()
}

// turn runs fn as one of the actor's turns on the caller's goroutine, as
// post runs a message that finds the mailbox idle and empty, and reports
// whether it did: not when the actor is busy, has messages waiting, is
// parked, suspended, stopped or runs on a dispatcher. What is posted
// meanwhile runs after fn, on the same goroutine. A panic in fn fails
// the actor as one in its Receive does (msg, the request, is answered
// closed).
func (m *inlineMailbox) turn(msg interface{}, fn func()) bool {
	m.mu.Lock()
	if m.parked || !m.idleLocked(false) {
		m.mu.Unlock()
		return false
	}
	m.running = true
	m.onLoop = false
	m.mu.Unlock()
	m.invokeTurn(msg, fn)
	m.run()
	return true
}

func (m *inlineMailbox) invokeTurn(msg interface{}, fn func()) {
	defer m.recover(msg)
	fn()
}

// inTurn reports whether the mailbox is handling a message or a turn now.
func (m *inlineMailbox) inTurn() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running
}

// unpark runs what a parked mailbox holds, on the caller's goroutine.
func (m *inlineMailbox) unpark() {
	m.mu.Lock()
	m.parked = false
	if m.running || (m.user.len() == 0 && m.system.len() == 0) {
		m.mu.Unlock()
		return
	}
	m.running = true
	m.onLoop = false
	m.mu.Unlock()
	m.run()
}

// runOn moves the mailbox to d's goroutines from the next message on
// (the watchdog's remedy for an actor that blocks its poller).
func (m *inlineMailbox) runOn(d actor.Dispatcher) {
	m.mu.Lock()
	m.dispatcher, m.drain = d, m.run
	m.mu.Unlock()
}

func (m *inlineMailbox) invokeSystem(msg interface{}) {
	switch msg.(type) {
	case *actor.SuspendMailbox:
		m.mu.Lock()
		m.suspended = true
		m.mu.Unlock()
		return
	case *actor.ResumeMailbox:
		m.mu.Lock()
		m.suspended = false
		m.mu.Unlock()
		return
	case *actor.Restart:
		// A socket actor stops, never restarts: its fd cannot be rebuilt.
		// (Its parent's strategy may say restart; the mailbox makes it a
		// stop, which closes the fd and answers what is pending.)
		if m.socket() {
			msg = &actor.Stop{}
		}
	}
	defer m.recover(msg)
	m.invoker.InvokeSystemMessage(msg)
}

// socket reports whether the mailbox runs a socket actor.
func (m *inlineMailbox) socket() bool {
	ctx, ok := m.invoker.(actor.Context)
	if !ok {
		return false
	}
	_, ok = ctx.Actor().(SocketActor)
	return ok
}

// ring is a growable FIFO of messages that reuses its storage.
type ring struct {
	buf        []interface{}
	head, size int
}

func (r *ring) len() int { return r.size }

func (r *ring) push(v interface{}) {
	if r.size == len(r.buf) {
		n := max(2, 2*len(r.buf)) // most mailboxes never hold more than a message or two
		nb := make([]interface{}, n)
		for i := 0; i < r.size; i++ {
			nb[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.size)%len(r.buf)] = v
	r.size++
}

func (r *ring) pop() interface{} {
	v := r.buf[r.head]
	r.buf[r.head] = nil
	r.head = (r.head + 1) % len(r.buf)
	r.size--
	if r.size == 0 && len(r.buf) <= 2 {
		// Drained, and small: an idle actor keeps no queue (most
		// messages take the mailbox's fast path and never queue).
		r.buf, r.head = nil, 0
	}
	return v
}
