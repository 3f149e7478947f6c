package tcp

import (
	"errors"
	"net/netip"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// Conn is a push-mode connection as its Handler sees it: the handle
// through which the handler writes, closes, pauses and resumes reading,
// and talks to other actors. It belongs to the connection's actor: use it
// only inside Receive (or an ActorHandler's Receive). Other goroutines and
// actors drive the connection with messages to PID (Write, Close, Abort,
// ...), which the connection handles in order with its events.
type Conn struct {
	a *connActor
}

// ErrOutsideHandler is returned by a Conn method called while the
// connection's handler is not running: the handle belongs to the
// connection's actor. Send the connection a message instead. The check is
// a guard, not a lock: a Conn used from another goroutine while
// its handler runs is a data race (go test -race reports it), not an
// error.
var ErrOutsideHandler = errors.New("tcp: Conn used outside its handler (send its PID a message instead)")

// PID returns the connection actor's PID: messages sent to it reach the
// handler (or, for Write, Close and the other commands, the connection).
func (c *Conn) PID() *actor.PID { return c.a.self }

// System returns the actor system the connection runs on.
func (c *Conn) System() *actors.System { return c.a.cfg.sys }

// Context returns the connection actor's context, for what the handle does
// not cover (Watch, Spawn, ReenterAfter...).
func (c *Conn) Context() actor.Context { return c.a.ctx }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.a.remote }

// LocalAddr returns the connection's local address (the zero AddrPort
// once the connection is closed).
func (c *Conn) LocalAddr() netip.AddrPort {
	if sock := c.a.core.Socket(); sock != nil {
		ap, _ := sock.LocalAddr()
		return ap
	}
	return netip.AddrPort{}
}

// PeerCred returns the identity of the process at the other end of a
// Unix-domain connection (its pid, uid and gid, as the kernel recorded
// them at connect: SO_PEERCRED); ok is false for a TCP connection. A
// handler that checks it in Connected can Abort a peer it does not serve.
func (c *Conn) PeerCred() (cred socket.Cred, ok bool) {
	if c.a.cred == nil {
		return socket.Cred{}, false
	}
	return *c.a.cred, true
}

// Close flushes what was written, then closes the connection; the handler
// gets Closed. A second Close returns an error wrapping net.ErrClosed.
func (c *Conn) Close() error {
	if err := c.check("close"); err != nil {
		return err
	}
	return c.a.startClose(flushing)
}

// CloseWrite half-closes: it flushes what was written, sends FIN, and goes
// on reading until the peer's FIN, then closes (Closed follows).
func (c *Conn) CloseWrite() error {
	if err := c.check("closewrite"); err != nil {
		return err
	}
	return c.a.startClose(confirming)
}

// Abort resets the connection at once (RST), dropping what is queued; the
// handler gets Closed.
func (c *Conn) Abort() error {
	if err := c.check("abort"); err != nil {
		return err
	}
	c.a.abort()
	return nil
}

// PauseReading stops reading until ResumeReading: data waits in the
// kernel, and the peer's sends block once its window fills.
func (c *Conn) PauseReading() {
	if c.check("pause") == nil {
		c.a.paused = true
	}
}

// ResumeReading resumes reading after PauseReading.
func (c *Conn) ResumeReading() {
	if c.check("resume") == nil && c.a.paused {
		c.a.paused = false
		c.a.kick()
	}
}

// Retain keeps the buffer of the Received being handled past the call:
// the returned Loan's Bytes stay valid until its Release. A connection
// lends at most WithReadCredit buffers at once: while that many are
// retained it stops reading, so memory stays bounded. Outside a
// Received, Retain returns an empty Loan.
func (c *Conn) Retain() Loan {
	if c.check("retain") != nil {
		return Loan{}
	}
	return c.a.retain()
}

// Sender returns the sender of the message being handled, nil for the
// connection's own events.
func (c *Conn) Sender() *actor.PID { return c.a.host.Sender() }

// Respond answers the message being handled: its sender, or the future
// of an actors.Request made to the connection's PID.
func (c *Conn) Respond(msg any) { c.a.respond(msg) }

// Send sends msg to pid with the connection as its sender.
func (c *Conn) Send(pid *actor.PID, msg any) {
	c.a.ctx.RequestWithCustomSender(pid, msg, c.a.self)
}

// Loan is a read buffer a handler retained (Conn.Retain): its Bytes
// stay valid until its Release, which belongs to the connection's actor
// like the Conn's methods.
type Loan = actors.Loan

// readBuf is a pooled read buffer and the Received that lends it.
type readBuf struct {
	core.LentBuffer
	recv messages.Received
	// ring is the registration whose poller received Data into its
	// buffer bid (nil for a buffer of the pool).
	ring *poller.Registration
	bid  uint16
}

// errQueueFull and errTooLong are the refusals of a Write.
var (
	errQueueFull = unix.EAGAIN
	errTooLong   = unix.EMSGSIZE
)
