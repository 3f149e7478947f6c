package core

import (
	"math"
	"net"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// Core is the part every socket actor shares: it owns the socket and its
// poller registration, answers Poll, Shutdown, SetBlocking, GetInfo and
// Close, runs request deadlines, and closes the fd when the actor stops,
// crashes or is restarted. It lives inside one actor and is touched only by
// that actor's Receive.
//
// The fd is non-blocking for the socket's whole life: the actor, not the
// kernel, does the waiting. SetBlocking records the mode a caller asked for
// and reports it back through GetInfo; it never makes a syscall block.
//
// A core may start without a socket (a TCP client before Connect) and get
// one later with Attach. What it does for each event (onReady, ready,
// WriteNow) is in path.go.
type Core struct {
	rt       *Runtime
	sock     *socket.Socket
	mb       *inlineMailbox
	self     *actor.PID
	reg      *poller.Registration
	proto    Protocol // never nil: noProtocol for none
	blocking bool
	closed   bool
	polls    *Queue[messages.PollOp] // made at the first Poll that waits
	queues   []pendingQueue          // every queue of the actor, polls too
	seq      uint64
	counts   Counters
	key      MetricKey
	// onPool: the actor's mailbox runs on the worker pool (RunOnPool).
	onPool bool
	// parked: the actor starts on its poller (Park, SpawnParked);
	// parkFailed: its socket could not be handed to one.
	parked, parkFailed bool
	// handlers: the actor runs user code (RunsHandlers).
	handlers bool
	// recv: the poller receives the socket's bytes where it can, holding
	// at most that many of its buffers (UseRecv); 0: it does not.
	recv int
	// parkedReg is the registration SpawnParked made, until the first
	// Ready brings it to the actor.
	parkedReg atomic.Pointer[poller.Registration]
	// stopCause is why the socket closed, if not by a stop (StopCause).
	stopCause error
	// ownMailbox is the mailbox allocated with the core (coreBlock),
	// until SocketProps gives it to the actor's spawn.
	ownMailbox *inlineMailbox
}

// RunsHandlers marks the actor as one that runs user code (a push-mode
// handler): the stall watchdog watches only those. Call it while building
// the actor.
func (c *Core) RunsHandlers() { c.handlers = true }

// UseRecv asks for a registration whose poller receives the socket's
// bytes itself where its backend can (io_uring: poller.RegisterRecv); the
// actor then takes them with Registration().NextRecv when
// Registration().Receives(). limit bounds the poller's buffers the
// actor's bytes take while it does not ask for more (the actor's read
// credit: see poller.RegisterRecv). Call it while building the actor.
func (c *Core) UseRecv(limit int) { c.recv = max(limit, 1) }

// Park makes the actor start on its poller's goroutine instead of its
// spawner's: spawned with System.SpawnParked, it holds its Started (and
// anything sent to it) until the poller first reports its socket. Call it
// while building the actor.
func (c *Core) Park() { c.parked = true }

// RunOnPool makes the actor run on the system's worker pool instead of
// its posters' goroutines (the poller's, the caller's): for a socket
// actor whose behaviour may block. Call it while building the actor
// (SocketProps' newActor).
func (c *Core) RunOnPool() { c.onPool = true }

// OnLoop reports whether the actor runs now on the goroutine of the
// loop of its poller (the message being handled, or one before it in
// the same run of its mailbox, was a Ready the loop delivered inline):
// there a send queued with Registration().Send is submitted with the
// loop's next turn, at no system call of its own.
func (c *Core) OnLoop() bool { return c.mb != nil && c.mb.onLoop }

// InTurn reports whether the actor is handling a message or a direct turn
// now; true when it cannot tell (an actor without the inline mailbox).
// A request it answered in a turn that has ended gets no other answer
// from that turn (the mailbox answers the turn's request again as closed
// when the handler panics after answering).
func (c *Core) InTurn() bool { return c.mb == nil || c.mb.inTurn() }

// Protocol is how the core drives a protocol actor beyond its queues:
// readiness beyond serving a queue's head (a connect in progress, a
// push-mode handler's reads), and what the actor holds beyond its queues
// when the socket closes. Requests waiting on a Queue need none of it.
// A protocol actor implements it itself (the core then calls it as an
// interface, through the actor's own memory: a server's connections keep
// no separate closure per hook to miss in the cache on every event); an
// actor with a little to add gives Hooks.
type Protocol interface {
	// Ready continues work after readiness in d. It runs after pending
	// polls are answered and before the queues waiting for d are served.
	Ready(d poller.Direction)
	// Wants reports whether the actor waits for readiness in d beyond
	// its queues (the core wants d while a queue waiting for d holds a
	// request).
	Wants(d poller.Direction) bool
	// Cancel ends what the actor holds beyond its queues: the socket is
	// closing (code is IO_STATUS_CANCELLED) or the actor stopped. The
	// queues are answered already (FailAll with the cause of code).
	Cancel(code messages.IOStatus)
}

// Buffered is a Protocol that holds bytes it read from the socket and has
// not delivered yet (a TCP client's read past its request): a Poll for
// reading answers at once while Buffered reports so, as it would for
// bytes still in the kernel.
type Buffered interface {
	Buffered() bool
}

// Hooks is a Protocol made of functions, for actors that need one or
// two of them. Nil ones do nothing (Wants: false).
type Hooks struct {
	OnReady  func(d poller.Direction)
	OnWants  func(d poller.Direction) bool
	OnCancel func(code messages.IOStatus)
}

// noProtocol is the Protocol of an actor that has none (one shared value:
// a Hooks in an interface would be allocated per core).
var noProtocol Protocol = Hooks{}

func (h Hooks) Ready(d poller.Direction) {
	if h.OnReady != nil {
		h.OnReady(d)
	}
}

func (h Hooks) Wants(d poller.Direction) bool { return h.OnWants != nil && h.OnWants(d) }

func (h Hooks) Cancel(code messages.IOStatus) {
	if h.OnCancel != nil {
		h.OnCancel(code)
	}
}

// deadline is the message a request's timer sends its socket actor: q is
// the queue that holds request id.
type deadline struct {
	q  pendingQueue
	id uint64
}

// timerFired is the message an AfterFunc timer sends its socket actor.
type timerFired struct{ f func() }

// coreBlock is a core and its mailbox in one allocation: a Ready goes
// from the mailbox to the core, and with 1,000 connections each delivery
// that finds them side by side misses the cache less than one that
// finds them apart.
type coreBlock struct {
	core Core
	mb   inlineMailbox
}

func newCore(rt *Runtime, sock *socket.Socket) *Core {
	b := &coreBlock{core: Core{rt: rt, sock: sock, proto: noProtocol, key: MetricKey{Kind: "socket"}}}
	b.mb.inbox = &b.mb
	b.core.ownMailbox = &b.mb
	return &b.core
}

// Runtime returns the runtime the actor runs on.
func (c *Core) Runtime() *Runtime { return c.rt }

// Self returns the actor's PID (nil before Started).
func (c *Core) Self() *actor.PID { return c.self }

// Socket returns the socket the core owns: nil before Attach and once
// closed.
func (c *Core) Socket() *socket.Socket {
	if c.closed {
		return nil
	}
	return c.sock
}

// Closed reports whether the socket has been closed.
func (c *Core) Closed() bool { return c.closed }

// Registration returns the poller registration (nil until the socket is
// registered).
func (c *Core) Registration() *poller.Registration { return c.reg }

// Handle handles the messages every socket actor shares: lifecycle,
// readiness, request deadlines and withdrawals. It reports false for
// anything else, which the actor then passes to Command.
func (c *Core) Handle(ctx actor.Context) bool {
	switch m := ctx.Message().(type) {
	case *poller.Ready:
		c.onReady(m)
	case *poller.Dropped:
		if c.reg == nil && c.parked {
			c.reg = c.parkedReg.Load() // dropped before its first Ready
		}
		if m.Reg == c.reg && !c.closed {
			c.drop(ctx, m.Err)
		}
	case *deadline:
		c.expire(m)
	case *timerFired:
		if !c.closed {
			m.f()
			c.UpdateWants()
		}
	case *Withdrawal:
		c.withdraw(m.Reply)
	case *messages.Withdraw:
		if s := ctx.Sender(); s != nil {
			c.withdraw(replierOf(ctx.ActorSystem(), s))
		}
	case *actor.Started:
		c.started(ctx)
	case *actor.Stopping, *actor.Restarting:
		c.Close(messages.IOStatus_IO_STATUS_CANCELLED)
	case *actor.Stopped:
		if c.mb != nil {
			c.mb.stopped()
		}
		c.rt.untrack(c.self)
	default:
		return false
	}
	return true
}

func (c *Core) started(ctx actor.Context) {
	if c.self != nil || c.closed {
		// Restarted by a parent whose strategy restarts: an fd cannot be
		// rebuilt, so a socket actor stops instead.
		ctx.Stop(ctx.Self())
		return
	}
	c.self = ctx.Self()
	if c.parked {
		// SpawnParked tracked the actor and registered its socket.
		if c.parkFailed {
			c.closeFD()
			ctx.Stop(c.self)
		}
		return
	}
	if !c.rt.track(c.self, c.key, c) {
		c.closeFD()
		ctx.Stop(c.self)
		return
	}
	if c.sock != nil {
		if err := c.register(); err != nil {
			c.closeFD()
			ctx.Stop(c.self)
		}
	}
}

// Adopt gives a core built without a socket the socket it will own,
// before the actor starts: it is registered at Started, as a socket given
// to SocketProps is. It is for props shared by many actors (one listener's
// connections), whose producer hands each actor its socket.
func (c *Core) Adopt(sock *socket.Socket) {
	if c.sock == nil && c.self == nil {
		c.sock = sock
	}
}

// Attach gives a core that started without a socket its socket, and
// registers it with a poller. On error the socket is closed.
func (c *Core) Attach(sock *socket.Socket) error {
	if c.closed || c.sock != nil {
		_ = sock.Close()
		return &socket.OpError{Op: "attach", Net: sock.Net(), Err: socket.ErrInvalidArgument}
	}
	c.sock = sock
	if err := c.register(); err != nil {
		c.closeFD()
		return &socket.OpError{Op: "attach", Net: sock.Net(), Err: err}
	}
	return nil
}

func (c *Core) register() error {
	reg, err := c.rt.register(c.sock.FD(), c.self, c.recv)
	if err != nil {
		return err
	}
	c.reg = reg
	c.deliverDirect(reg)
	return nil
}

func (c *Core) nextID() uint64 {
	c.seq++
	return c.seq
}

// deadlineAfter arms the timer of request id in q.
func (c *Core) deadlineAfter(d time.Duration, q pendingQueue, id uint64) *time.Timer {
	root, self := c.rt.Root(), c.self
	return time.AfterFunc(d, func() { root.Send(self, &deadline{q: q, id: id}) })
}

// AfterFunc runs f as one of the actor's messages after d, unless the
// socket is closed by then: for a timer that is not a request's (a
// connect attempt, a back-off). Stopping the timer may come too late for
// a message already sent, so f checks that it still applies.
func (c *Core) AfterFunc(d time.Duration, f func()) *time.Timer {
	root, self := c.rt.Root(), c.self
	m := &timerFired{f: f}
	return time.AfterFunc(d, func() { root.Send(self, m) })
}

// Want asks the poller for readiness in d. Call it before the syscall
// whose EAGAIN the actor will wait on; UpdateWants later drops interest
// nobody has any more.
func (c *Core) Want(d poller.Direction) {
	if c.reg != nil {
		c.reg.Want(d)
	}
}

// MaxPending bounds the requests of one kind (Recv, Send, Accept, Poll,
// RecvFrom, SendTo...) a socket actor holds waiting at once, in one
// Queue; one more is refused with socket.ErrTooManyPending. Remote
// callers are no exception: memory follows what the socket does, not what
// callers ask.
const MaxPending = 1024

// Timeout converts a request's timeout_ms; 0 means none.
func Timeout(ms uint32) time.Duration { return time.Duration(ms) * time.Millisecond }

// TimeoutMS converts a caller's timeout to the wire form: 0 stays 0 (no
// timeout), a positive duration rounds up to whole milliseconds. A negative
// duration is invalid and reported false.
func TimeoutMS(d time.Duration) (uint32, bool) {
	if d < 0 {
		return 0, false
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > math.MaxUint32 {
		ms = math.MaxUint32
	}
	return uint32(ms), true
}

// Close answers every pending request with code (each queue fails with
// the error code stands for), lets the protocol end the rest
// (Protocol.Cancel), deregisters the fd and closes it; the actor keeps
// running and answers later requests closed. It is idempotent.
func (c *Core) Close(code messages.IOStatus) {
	if c.closed {
		return
	}
	cause := causeOf(code)
	for _, q := range c.queues {
		q.FailAll(cause)
	}
	c.proto.Cancel(code)
	c.closeFD()
}

// drop closes the socket because its poller no longer watches it (the
// poller failed or stopped): pending requests end with err, which names
// the poller, and the actor stops, as on a stop.
func (c *Core) drop(ctx actor.Context, err error) {
	c.stopCause = err
	for _, q := range c.queues {
		q.FailAll(err)
	}
	c.proto.Cancel(messages.IOStatus_IO_STATUS_POLLING_ERROR)
	c.closeFD()
	ctx.Stop(c.self)
}

// StopCause is why the actor is stopping: socket.ErrCancelled for a stop
// from outside (Close, the system's stop), a *socket.PollerError when its
// poller failed or stopped. Protocol actors tell their handlers.
func (c *Core) StopCause() error {
	if c.stopCause != nil {
		return c.stopCause
	}
	return socket.ErrCancelled
}

// causeOf is the error a queue's requests end with when the socket
// closes with code.
func causeOf(code messages.IOStatus) error {
	switch code {
	case messages.IOStatus_IO_STATUS_CANCELLED:
		return socket.ErrCancelled
	case messages.IOStatus_IO_STATUS_CLOSED:
		return net.ErrClosed
	}
	return (&messages.Status{Code: code}).Err()
}

func (c *Core) closeFD() {
	c.closed = true
	if c.reg == nil {
		c.reg = c.parkedReg.Load() // closed before its first Ready
	}
	if c.reg != nil {
		_ = c.reg.Deregister()
	}
	if c.sock != nil {
		_ = c.sock.Close()
	}
}

// StopTimer stops t if there is one.
func StopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

func (c *Core) expire(m *deadline) {
	if m.q.expire(m.id) {
		c.UpdateWants()
	}
}

func (c *Core) withdraw(r Replier) {
	for _, q := range c.queues {
		if q.withdraw(r) {
			c.UpdateWants()
			return
		}
	}
}
