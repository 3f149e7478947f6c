package actors

import (
	"math"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// Core is the part every socket actor shares: it owns the socket and its
// poller registration, answers Poll, Shutdown, SetBlocking, GetInfo and
// Close, and closes the fd when the actor stops, crashes or is restarted.
// It lives inside one actor and is touched only by that actor's Receive.
//
// The fd is non-blocking for the socket's whole life: the actor, not the
// kernel, does the waiting. SetBlocking records the mode a caller asked for
// and reports it back through GetInfo; it never makes a syscall block.
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
}

// Hooks let a protocol actor (TCP client, UDP peer) drive its own I/O from
// the core's readiness and lifecycle. Nil hooks are skipped.
type Hooks struct {
	// Ready continues pending I/O after readiness in d.
	Ready func(d poller.Direction)
	// Wants reports whether pending I/O waits for readiness in d.
	Wants func(d poller.Direction) bool
	// Cancel answers every pending request with code; the socket is closing.
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

// NewCore returns the core for sock; the actor it lives in must use the
// mailbox from Props (see SpawnSocket for the pattern).
func newCore(sys *System, sock *socket.Socket, mb *inlineMailbox, hooks Hooks) *Core {
	return &Core{sys: sys, sock: sock, mb: mb, hooks: hooks}
}

// Socket returns the socket the core owns (nil once closed).
func (c *Core) Socket() *socket.Socket {
	if c.closed {
		return nil
	}
	return c.sock
}

// Closed reports whether the socket has been closed.
func (c *Core) Closed() bool { return c.closed }

// Registration returns the poller registration (nil before Started).
func (c *Core) Registration() *poller.Registration { return c.reg }

// Handle handles the messages every socket actor shares: lifecycle,
// readiness, request deadlines and cancellations. It reports false for
// anything else, which the actor then passes to Command.
func (c *Core) Handle(ctx actor.Context) bool {
	switch m := ctx.Message().(type) {
	case *poller.Ready:
		if m.Reg == c.reg && !c.closed {
			c.ready(m.Dir)
		}
	case *deadline:
		c.expire(m.id)
	case *cancelRequest:
		c.cancel(m.reply)
	case *actor.Started:
		c.started(ctx)
	case *actor.Stopping, *actor.Restarting:
		c.close(messages.IOStatus_IO_STATUS_CANCELLED)
	case *actor.Stopped:
		c.mb.stopped()
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
	if !c.sys.track(c.self) {
		c.closeFD()
		ctx.Stop(c.self)
		return
	}
	reg, err := c.sys.nextPoller().Register(c.sock.FD(), c.self)
	if err != nil {
		c.closeFD()
		ctx.Stop(c.self)
		return
	}
	c.reg = reg
}

// Command runs one of the shared commands and reports whether cmd was one.
func (c *Core) Command(ctx actor.Context, cmd proto.Message, reply Replier) bool {
	switch cmd := cmd.(type) {
	case *messages.Poll:
		c.poll(cmd, reply)
	case *messages.Shutdown:
		reply.Reply(c.shutdown(cmd))
	case *messages.SetBlocking:
		if c.closed {
			reply.Reply(messages.Rejection(cmd, messages.IOStatus_IO_STATUS_CLOSED))
			return true
		}
		c.blocking = cmd.GetBlocking()
		reply.Reply(&messages.Status{Op: "setblocking"})
	case *messages.GetInfo:
		reply.Reply(c.info())
	case *messages.Close:
		if c.closed {
			reply.Reply(messages.Rejection(cmd, messages.IOStatus_IO_STATUS_CLOSED))
			return true
		}
		c.close(messages.IOStatus_IO_STATUS_CANCELLED)
		reply.Reply(&messages.Status{Op: "close"})
		ctx.Stop(c.self)
	default:
		return false
	}
	return true
}

func (c *Core) shutdown(cmd *messages.Shutdown) *messages.Status {
	if c.closed {
		return messages.Rejection(cmd, messages.IOStatus_IO_STATUS_CLOSED).(*messages.Status)
	}
	var how socket.How
	switch cmd.GetHow() {
	case messages.ShutdownHow_SHUTDOWN_HOW_READ:
		how = socket.Read
	case messages.ShutdownHow_SHUTDOWN_HOW_WRITE:
		how = socket.Write
	case messages.ShutdownHow_SHUTDOWN_HOW_BOTH:
		how = socket.Both
	default:
		return &messages.Status{Op: "shutdown", Net: c.sock.Net(), Code: messages.IOStatus_IO_STATUS_INVALID_ARGUMENT}
	}
	return c.status("shutdown", c.sock.Shutdown(how))
}

func (c *Core) status(op string, err error) *messages.Status {
	st := messages.StatusOf(op, c.sock.Net(), netipZero, err)
	return st
}

func (c *Core) info() *messages.Info {
	if c.closed {
		return messages.Rejection(&messages.GetInfo{}, messages.IOStatus_IO_STATUS_CLOSED).(*messages.Info)
	}
	in := &messages.Info{Status: &messages.Status{Op: "getinfo"}, Type: c.sock.Type().String(), Blocking: c.blocking}
	switch c.sock.Domain() {
	case socket.IPv4:
		in.Domain = messages.Domain_DOMAIN_IPV4
	case socket.IPv6:
		in.Domain = messages.Domain_DOMAIN_IPV6
	}
	if c.sock.Domain() != socket.Unix {
		if la, err := c.sock.LocalAddr(); err == nil {
			in.Local = messages.NewEndpoint(la)
		}
		if ra, err := c.sock.RemoteAddr(); err == nil {
			in.Remote = messages.NewEndpoint(ra)
		}
	}
	return in
}

// After arms a timer that delivers a deadline for request id to this actor
// after d. Only requests with a timeout pay for a timer.
func (c *Core) after(d time.Duration, id uint64) *time.Timer {
	root, self := c.sys.Root(), c.self
	return time.AfterFunc(d, func() { root.Send(self, &deadline{id: id}) })
}

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

// close answers every pending request with code, deregisters the fd and
// closes it. It is idempotent.
func (c *Core) close(code messages.IOStatus) {
	if c.closed {
		return
	}
	for _, p := range c.polls {
		stopTimer(p.timer)
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
	if c.reg != nil {
		_ = c.reg.Deregister()
	}
	_ = c.sock.Close()
}

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// updateWants tells the poller which directions someone waits on.
func (c *Core) updateWants() {
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
				stopTimer(p.timer)
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
	c.updateWants()
}

func (c *Core) expire(id uint64) {
	for i, p := range c.polls {
		if p.id == id {
			c.polls = append(c.polls[:i], c.polls[i+1:]...)
			p.reply.Reply(&messages.PollResult{Status: messages.PollStatus_POLL_STATUS_TIMEOUT})
			c.updateWants()
			return
		}
	}
}

func (c *Core) cancel(r Replier) {
	for i, p := range c.polls {
		if p.reply == r {
			stopTimer(p.timer)
			c.polls = append(c.polls[:i], c.polls[i+1:]...)
			p.reply.Reply(messages.Rejection(&messages.Poll{}, messages.IOStatus_IO_STATUS_CANCELLED))
			c.updateWants()
			return
		}
	}
}
