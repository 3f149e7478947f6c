package actors

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"

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
// one later with Attach.
type Core struct {
	sys      *System
	sock     *socket.Socket
	mb       *inlineMailbox
	self     *actor.PID
	reg      *poller.Registration
	hooks    Hooks
	blocking bool
	closed   bool
	polls    []*pendingPoll
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
	// parkedReg is the registration SpawnParked made, until the first
	// Ready brings it to the actor.
	parkedReg atomic.Pointer[poller.Registration]
}

// RunsHandlers marks the actor as one that runs user code (a push-mode
// handler): the stall watchdog watches only those. Call it while building
// the actor.
func (c *Core) RunsHandlers() { c.handlers = true }

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

// Count records the outcome of one data syscall by the protocol actor: n
// bytes read (read true) or written, or a failure; EAGAIN and end of
// stream count as nothing.
func (c *Core) Count(read bool, n int, err error) {
	switch {
	case err == unix.EAGAIN:
	case err != nil:
		c.counts.Errors.Add(1)
	case n <= 0:
	case read:
		c.counts.Reads.Add(1)
		c.counts.BytesIn.Add(uint64(n))
	default:
		c.counts.Writes.Add(1)
		c.counts.BytesOut.Add(uint64(n))
	}
}

// Hooks let a protocol actor (TCP client, UDP peer) drive its own requests
// from the core's readiness, deadlines and lifecycle. Nil hooks are skipped.
type Hooks struct {
	// Ready continues pending I/O after readiness in d.
	Ready func(d poller.Direction)
	// Wants reports whether pending I/O waits for readiness in d.
	Wants func(d poller.Direction) bool
	// Expire handles the deadline of request id (from NextID and After);
	// it reports false if id is not one of the protocol's requests.
	Expire func(id uint64) bool
	// Withdraw answers and drops the pending request whose replier is r,
	// because its caller stopped waiting; false if r is not pending.
	Withdraw func(r Replier) bool
	// Cancel answers every pending request with code: the socket is
	// closing (code is IO_STATUS_CANCELLED) or the actor stopped.
	Cancel func(code messages.IOStatus)
}

type pendingPoll struct {
	id    uint64
	op    messages.PollOp
	reply Replier
	timer *time.Timer
}

// deadline is the message a request's timer sends its socket actor.
type deadline struct{ id uint64 }

// cancelRequest withdraws a pending request whose caller stopped waiting.
type cancelRequest struct{ reply Replier }

func newCore(sys *System, sock *socket.Socket) *Core {
	return &Core{sys: sys, sock: sock, key: MetricKey{Kind: "socket"}}
}

// System returns the system the actor runs on.
func (c *Core) System() *System { return c.sys }

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
		if c.reg == nil && c.parked && !c.closed {
			c.reg = m.Reg // the registration SpawnParked made
		}
		if m.Reg == c.reg && !c.closed {
			c.ready(m.Dir)
		}
	case *deadline:
		c.expire(m.id)
	case *cancelRequest:
		c.withdraw(m.reply)
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
		c.sys.untrack(c.self)
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
	if !c.sys.track(c.self, c.key, c) {
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
	reg, err := c.sys.nextPoller().Register(c.sock.FD(), c.self)
	if err != nil {
		return err
	}
	c.reg = reg
	return nil
}

// NextID returns a new request id for After and Hooks.Expire.
func (c *Core) NextID() uint64 {
	c.seq++
	return c.seq
}

// After arms a timer that delivers the deadline of request id to this
// actor (Hooks.Expire) after d. Only requests with a timeout pay for one.
func (c *Core) After(d time.Duration, id uint64) *time.Timer {
	root, self := c.sys.Root(), c.self
	return time.AfterFunc(d, func() { root.Send(self, &deadline{id: id}) })
}

// Want asks the poller for readiness in d. Call it before the syscall
// whose EAGAIN the actor will wait on; UpdateWants later drops interest
// nobody has any more.
func (c *Core) Want(d poller.Direction) {
	if c.reg != nil {
		c.reg.Want(d)
	}
}

// UpdateWants tells the poller which directions polls and the protocol's
// pending requests wait on.
func (c *Core) UpdateWants() {
	if c.reg == nil {
		return
	}
	for _, d := range [2]poller.Direction{poller.Readable, poller.Writable} {
		want := c.hooks.Wants != nil && c.hooks.Wants(d)
		for _, p := range c.polls {
			want = want || hasDir(p.op, d)
		}
		if want {
			c.reg.Want(d)
		} else {
			c.reg.Unwant(d)
		}
	}
}

// MaxPending bounds the requests of one kind (Recv, Send, Accept, Poll,
// RecvFrom, SendTo...) a socket actor holds waiting at once; one more is
// refused with socket.ErrTooManyPending. Remote callers are no exception:
// memory follows what the socket does, not what callers ask.
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

// Close answers every pending request with code, deregisters the fd and
// closes it; the actor keeps running and answers later requests closed.
// It is idempotent.
func (c *Core) Close(code messages.IOStatus) {
	if c.closed {
		return
	}
	for _, p := range c.polls {
		StopTimer(p.timer)
		p.reply.Reply(messages.Rejection(&messages.Poll{}, code))
	}
	c.polls = nil
	if c.hooks.Cancel != nil {
		c.hooks.Cancel(code)
	}
	c.closeFD()
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

func (c *Core) ready(d poller.Direction) {
	c.reg.Consumed(d)
	if len(c.polls) > 0 {
		kept := c.polls[:0]
		for _, p := range c.polls {
			if !hasDir(p.op, d) {
				kept = append(kept, p)
				continue
			}
			if res, ok := c.check(p.op); ok {
				StopTimer(p.timer)
				p.reply.Reply(res)
				continue
			}
			kept = append(kept, p)
		}
		clear(c.polls[len(kept):])
		c.polls = kept
	}
	if c.hooks.Ready != nil {
		c.hooks.Ready(d)
	}
	c.UpdateWants()
}

func (c *Core) expire(id uint64) {
	for i, p := range c.polls {
		if p.id == id {
			c.polls = append(c.polls[:i], c.polls[i+1:]...)
			p.reply.Reply(&messages.PollResult{Status: messages.PollStatus_POLL_STATUS_TIMEOUT})
			c.UpdateWants()
			return
		}
	}
	if c.hooks.Expire != nil && c.hooks.Expire(id) {
		c.UpdateWants()
	}
}

func (c *Core) withdraw(r Replier) {
	for i, p := range c.polls {
		if p.reply == r {
			StopTimer(p.timer)
			c.polls = append(c.polls[:i], c.polls[i+1:]...)
			p.reply.Reply(messages.Rejection(&messages.Poll{}, messages.IOStatus_IO_STATUS_CANCELLED))
			c.UpdateWants()
			return
		}
	}
	if c.hooks.Withdraw != nil && c.hooks.Withdraw(r) {
		c.UpdateWants()
	}
}
