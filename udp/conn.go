package udp

import (
	"errors"
	"net"
	"net/netip"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/socket"
)

// Conn is a push-mode peer as its Handler sees it: the handle through
// which the handler sends datagrams, pauses and resumes reading, closes
// the peer and talks to other actors. It belongs to the peer's actor: use
// it only inside Receive (or an ActorHandler's Receive). Other goroutines
// and actors drive the peer with messages to PID (SendTo, ResumeReading,
// Close, ...), which it handles in order with its datagrams.
type Conn struct {
	a *peerActor
}

// ErrOutsideHandler is returned by a Conn method called while the peer's
// handler is not running: the handle belongs to the peer's actor. Send the
// peer a message instead. The check is a guard, not a lock: a Conn used
// from another goroutine while its handler runs is a data race (go test
// -race reports it), not an error.
var ErrOutsideHandler = errors.New("udp: Conn used outside its handler (send its PID a message instead)")

func (c *Conn) check(op string, to netip.AddrPort) error {
	if !c.a.host.Running() {
		return c.a.opError(op, to, ErrOutsideHandler)
	}
	return nil
}

// PID returns the peer actor's PID: messages sent to it reach the handler
// (or, for SendTo, ResumeReading, Close and the other commands, the peer).
func (c *Conn) PID() *actor.PID { return c.a.core.Self() }

// System returns the actor system the peer runs on.
func (c *Conn) System() *actors.System { return c.a.push.sys }

// Context returns the peer actor's context, for what the handle does not
// cover (Watch, Spawn, ReenterAfter...).
func (c *Conn) Context() actor.Context { return c.a.ctx }

// LocalAddr returns the peer's bound address.
func (c *Conn) LocalAddr() netip.AddrPort { return c.a.local }

// From returns the sender of the Datagram being handled; the zero
// AddrPort outside a Datagram (and for a Unix sender: see FromPath).
func (c *Conn) From() netip.AddrPort { return c.a.from }

// FromPath returns the Unix socket path of the Datagram being handled's
// sender, on a Unix datagram peer ("" outside a Datagram, for an IP
// sender, or for a Unix sender that did not bind).
func (c *Conn) FromPath() string { return c.a.fromPath }

// SendToUnix is SendTo for the Unix datagram socket at path ("@name": an
// abstract one), from a Unix datagram peer.
func (c *Conn) SendToUnix(path string, p []byte) error {
	if err := c.check("sendto", netip.AddrPort{}); err != nil {
		return err
	}
	return c.a.sendFromHandler(dest{path: strings.TrimPrefix(path, socket.UnixPrefix)}, p)
}

// Largest payloads the kernel sends in one datagram: 65,535 less the IPv4
// and UDP headers, and less the UDP header for IPv6.
const (
	maxPayload4 = 65507
	maxPayload6 = 65527
)

// SendTo sends one datagram to to: at once, or, when the kernel's buffer
// is full, from a queue bounded by WithSendQueue (a copy of p is queued,
// so p may be a Datagram's lent Data or a buffer the caller reuses). An
// empty p sends an empty datagram, as Go's net does. It refuses, with an
// error naming
// "sendto": an invalid address or one of the other family
// (socket.ErrInvalidAddress), a p longer than 65,507 bytes to an IPv4
// address or 65,527 to an IPv6 one (EMSGSIZE), a full queue (EAGAIN), a
// closed peer (net.ErrClosed), and what the kernel refuses for this
// datagram. A queued datagram the kernel refuses later is counted as an
// error (SocketStats) and dropped, as the network may drop any datagram;
// so is one sent while the handler is served a batch of datagrams read
// (up to 8 KiB, to an IP address), which goes out with the others the
// handler sent when the batch ends (one sendmmsg on Linux).
func (c *Conn) SendTo(to netip.AddrPort, p []byte) error {
	if err := c.check("sendto", to); err != nil {
		return err
	}
	return c.a.sendFromHandler(dest{ap: to}, p)
}

// PauseReading stops reading until ResumeReading: datagrams wait in the
// kernel's buffer, and once it is full the kernel drops them and counts
// the drops (Stats).
func (c *Conn) PauseReading() {
	if c.check("pause", netip.AddrPort{}) == nil {
		c.a.paused = true
	}
}

// ResumeReading resumes reading after PauseReading, once the handler
// returns.
func (c *Conn) ResumeReading() {
	if c.check("resume", netip.AddrPort{}) == nil && c.a.paused {
		c.a.paused = false
		c.a.kick()
	}
}

// Close closes the peer once the datagrams queued by SendTo are sent: its
// socket closes, the handler gets Closed, and the actor stops. A second
// Close returns an error wrapping net.ErrClosed.
func (c *Conn) Close() error {
	if err := c.check("close", netip.AddrPort{}); err != nil {
		return err
	}
	return c.a.closePush()
}

// Retain keeps the buffer of the Datagram being handled past the call: the
// returned Loan's Bytes stay valid until its Release. A peer lends at most
// WithReadCredit buffers at once: while that many are retained it stops
// reading, so memory stays bounded. Outside a Datagram, Retain returns an
// empty Loan.
func (c *Conn) Retain() Loan {
	if c.check("retain", netip.AddrPort{}) != nil {
		return Loan{}
	}
	return c.a.retain()
}

// Sender returns the sender of the message being handled, nil for the
// peer's own datagrams and events.
func (c *Conn) Sender() *actor.PID { return c.a.host.Sender() }

// Respond answers the sender of the message being handled.
func (c *Conn) Respond(msg any) {
	if sender := c.a.host.Sender(); sender != nil {
		c.a.ctx.Send(sender, msg)
	}
}

// Send sends msg to pid with the peer as its sender.
func (c *Conn) Send(pid *actor.PID, msg any) {
	c.a.ctx.RequestWithCustomSender(pid, msg, c.a.core.Self())
}

// Loan is a read buffer a handler retained (Conn.Retain): its Bytes stay
// valid until its Release, which belongs to the peer's actor like the
// Conn's methods.
type Loan = actors.Loan

// readBuf is a read buffer of a push-mode peer.
type readBuf = core.LentBuffer

// sendFromHandler is Conn.SendTo and Conn.SendToUnix.
func (a *peerActor) sendFromHandler(to dest, p []byte) error {
	sock := a.core.Socket()
	limit := maxPayload6
	if to.ap.Addr().Unmap().Is4() {
		limit = maxPayload4
	}
	var invalid error
	switch {
	case to.path != "":
		invalid = socket.CheckUnixPath(to.path)
		if invalid == nil && sock != nil && sock.Domain() != socket.Unix {
			invalid = socket.ErrInvalidAddress
		}
		limit = MaxDatagram
	case !to.ap.Addr().IsValid() || to.ap.Port() == 0, sock != nil && sock.Domain() == socket.Unix:
		invalid = socket.ErrInvalidAddress
	}
	switch {
	case sock == nil || a.closing:
		return a.sendError(to, net.ErrClosed)
	case invalid != nil:
		return a.sendError(to, invalid)
	case len(p) > limit:
		return a.sendError(to, unix.EMSGSIZE)
	}
	if a.stageSend(to, p) {
		return nil // sent as the batch being handled ends
	}
	a.flushSends() // what was staged goes first
	if a.sends == nil || a.sends.Len() == 0 {
		// Nothing queued: send at once; only EAGAIN queues the datagram.
		_, err := a.sendNow(to, p)
		if err != unix.EAGAIN {
			if err != nil {
				return a.sendError(to, err)
			}
			return nil
		}
	}
	charge := len(p) + sendOverhead
	if a.queued+charge > a.push.sendQueue {
		return a.sendError(to, unix.EAGAIN)
	}
	a.queued += charge
	if !a.sendQueue().Push(sendReq{to: to, data: append([]byte(nil), p...), charge: charge}, nil, 0) {
		return a.sendError(to, socket.ErrTooManyPending) // its charge is given back
	}
	return nil
}

// sendError is the error of a handler's send toward to.
func (a *peerActor) sendError(to dest, err error) error {
	if to.path == "" {
		return a.opError("sendto", to.ap, err)
	}
	return socket.PathError("sendto", "unixgram", to.path, err)
}

func (a *peerActor) opError(op string, to netip.AddrPort, err error) error {
	network := "udp"
	if sock := a.core.Socket(); sock != nil {
		network = sock.Net()
	}
	return &socket.OpError{Op: op, Net: network, Addr: to, Err: err}
}
