package core

// A socket actor's event path, in the order a Ready from the poller's
// loop runs it: into the mailbox (PostUserMessage, post, run), to the
// core and its protocol (onReady, ready), through a push-mode handler's
// call (HandlerHost), and back to the socket (WriteNow, Count). These
// functions have a file of their own, apart from mailbox.go, core.go and
// push.go, so that Go's linker lays them out together (it places a
// package's functions in the order of its files): an event touches two
// or three pages of this package's code, where it touched six.
// tcp/conn_path.go says why the pages count; TestEventPathIsContiguous
// keeps them together.

import (
	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/poller"
)

// PostUserMessage posts msg: the poller's Ready, a request, a tell
// (actor.Mailbox).
func (m *inlineMailbox) PostUserMessage(msg interface{}) { m.post(&m.user, msg) }

// post queues msg on q, or runs it at once on the caller's goroutine
// when the mailbox is idle and empty (and not on a dispatcher).
func (m *inlineMailbox) post(q *ring, msg interface{}) {
	m.mu.Lock()
	if m.parked {
		_, ready := msg.(*poller.Ready)
		_, dropped := msg.(*poller.Dropped)
		_, started := msg.(*actor.Started)
		if !ready && !dropped && (q == &m.user || started) {
			q.push(msg)
			m.mu.Unlock()
			return
		}
		m.parked = false
	}
	if m.idleLocked(q == &m.system) {
		// Idle and empty: run msg at once, without queuing it.
		m.running = true
		_, m.onLoop = msg.(*poller.Ready)
		m.mu.Unlock()
		if q == &m.system {
			m.invokeSystem(msg)
		} else {
			m.invokeUser(msg)
		}
		m.run()
		return
	}
	q.push(msg)
	if m.running {
		m.mu.Unlock()
		return
	}
	m.running = true
	d := m.dispatcher
	_, ready := msg.(*poller.Ready)
	m.onLoop = ready && d == nil
	m.mu.Unlock()
	if d != nil {
		d.Schedule(m.drain)
		return
	}
	m.run()
}

// idleLocked reports whether a message (a system one if system) may run
// at once on the poster's goroutine: no run in progress, nothing queued,
// not stopped, not on a dispatcher, and for a user message not suspended.
func (m *inlineMailbox) idleLocked(system bool) bool {
	return m.dispatcher == nil && !m.running && m.user.len() == 0 && m.system.len() == 0 && !m.reject && (system || !m.suspended)
}

// run drains the mailbox; the poster that set running owns the loop until
// both queues are empty (or the user queue is suspended).
func (m *inlineMailbox) run() {
	for {
		m.mu.Lock()
		var msg interface{}
		system := false
		switch {
		case m.system.len() > 0:
			msg, system = m.system.pop(), true
		case !m.suspended && m.user.len() > 0:
			msg = m.user.pop()
		default:
			m.running = false
			m.onLoop = false
			m.mu.Unlock()
			return
		}
		reject := m.reject
		m.mu.Unlock()

		switch {
		case system:
			m.invokeSystem(msg)
		case reject:
			RejectClosed(msg)
		default:
			m.invokeUser(msg)
		}
	}
}

// invokeUser runs a user message. A Ready goes straight to the socket
// actor's core, which is where every socket actor's Receive passes it
// (Core.Handle), without Proto.Actor's context around it: it is most of
// the messages a busy socket actor handles.
func (m *inlineMailbox) invokeUser(msg interface{}) {
	defer m.recover(msg)
	if r, ok := msg.(*poller.Ready); ok && m.core != nil {
		m.core.onReady(r)
		return
	}
	m.invoker.InvokeUserMessage(msg)
}

// recover escalates a panic of the actor's, and answers the request it
// was handling as closed (the failed actor stops, which closes its
// socket): a caller must not wait for ever on a request whose handler
// died before it could queue or answer it. (One it had queued is answered
// twice; the second answer is ignored.)
func (m *inlineMailbox) recover(msg interface{}) {
	if r := recover(); r != nil {
		m.invoker.EscalateFailure(r, msg)
		RejectClosed(msg)
	}
}

// onReady handles a Ready. The mailbox calls it directly, not through
// the actor's Receive (invokeUser): a socket actor hears of readiness
// through its Protocol alone.
func (c *Core) onReady(m *poller.Ready) {
	if c.reg == nil && c.parked && !c.closed {
		c.reg = m.Reg // the registration SpawnParked made
	}
	if m.Reg == c.reg && !c.closed {
		c.ready(m.Dir)
	}
}

// ready serves readiness in d: pending polls, the protocol, then the
// queues waiting for d.
func (c *Core) ready(d poller.Direction) {
	c.reg.Consumed(d)
	if c.polls != nil && c.polls.Len() > 0 {
		c.readyPolls(d)
	}
	c.proto.Ready(d)
	for _, q := range c.queues {
		q.ready(d)
	}
	c.UpdateWants()
}

// UpdateWants tells the poller which directions the queues (polls
// among them) and the protocol (Protocol.Wants) wait on.
func (c *Core) UpdateWants() {
	if c.reg == nil {
		return
	}
	// One pass over the queues for both directions: each waits for one.
	var queued [2]bool
	for _, q := range c.queues {
		if d, ok := q.waiting(); ok {
			queued[d] = true
		}
	}
	for _, d := range [2]poller.Direction{poller.Readable, poller.Writable} {
		// The hook first and always: it may note that d is dropped.
		want := c.proto.Wants(d) || queued[d]
		if c.polls != nil && !want {
			for _, e := range c.polls.items[c.polls.head:] {
				want = want || hasDir(e.req, d)
			}
		}
		c.reg.SetWant(d, want)
	}
}

// Deliver runs the handler on msg (from sender; nil for the actor's own
// event), then on the events raised meanwhile. Called while the handler
// runs, it only queues msg, and reports false.
func (h *HandlerHost) Deliver(o HandlerOwner, msg any, sender *actor.PID) bool {
	if h.running {
		if h.x == nil {
			h.x = &hostExtra{}
		}
		h.x.deferred = append(h.x.deferred, msg)
		return false
	}
	h.call(o, msg, sender)
	if x := h.x; x != nil && len(x.deferred) > 0 {
		for i := 0; i < len(x.deferred); i++ {
			m := x.deferred[i]
			x.deferred[i] = nil
			h.call(o, m, nil)
		}
		x.deferred = x.deferred[:0]
	}
	return true
}

// call runs the handler on msg, marked running with sender; a panic fails
// the owner (failed) instead of the poster's goroutine.
func (h *HandlerHost) call(o HandlerOwner, msg any, sender *actor.PID) {
	h.running, h.sender = true, sender
	defer func() {
		h.running, h.sender = false, nil
		if r := recover(); r != nil {
			h.failed(o, r, msg)
		}
	}()
	o.HandleMessage(msg)
}

// WriteNow writes p to the socket without waiting and counts it: it
// returns how much the kernel took (0, and no error, when it took nothing
// for now: EAGAIN). When it took less than all of p the actor wants
// writability, to write the rest at the next Ready.
func (c *Core) WriteNow(p []byte) (int, error) {
	n, err := c.sock.Write(p)
	c.Count(false, n, err)
	switch {
	case err == unix.EAGAIN:
		n, err = 0, nil
	case err != nil:
		return n, err
	}
	if n < len(p) {
		c.Want(poller.Writable)
	}
	return n, nil
}

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
