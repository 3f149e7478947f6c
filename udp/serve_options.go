package udp

// Push mode's settings: Serve's and StartService's options.

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// serveConfig is a push-mode peer's handler and settings. It is built once
// by Serve (or StartService) and only read afterwards.
type serveConfig struct {
	sys       *actors.System
	handler   Handler
	strategy  actor.SupervisorStrategy
	credit    int
	readSize  int
	sendQueue int
	blocking  bool
	opts      *messages.Options
	err       error // the first invalid option
}

func (c *serveConfig) fail(err error) { c.err = core.FirstError(c.err, err) }

// Push-mode defaults.
const (
	DefaultReadCredit = 8
	// DefaultReadSize is the largest UDP payload: by default no datagram
	// is cut. A smaller WithReadSize saves memory where datagrams are
	// known to be small (each lent buffer is this long).
	DefaultReadSize  = MaxDatagram
	DefaultSendQueue = 1 << 20
)

const (
	// sendOverhead is what a queued datagram costs beyond its bytes, so
	// that the send queue's byte bound also bounds its length.
	sendOverhead = 64
	// readBatch bounds the datagrams read per readiness before the peer
	// lets other messages (commands, messages to the handler) through.
	readBatch = 64
	// maxRecvErrors bounds the failed reads (ICMP reports of earlier
	// sends) in a row before the peer waits for the next readiness.
	maxRecvErrors = 16
)

// ServeOption configures Serve and StartService: a push-mode setting
// (WithReadCredit, WithReadSize...) or a socket Option (WithBuffers,
// WithReusePort...), which is one too. NewPeer and Bind take socket
// Options only, so a push-mode setting given to them does not compile.
// An option given an invalid value makes Serve and StartService fail with
// an error naming the option and the value (wrapping
// socket.ErrInvalidArgument).
type ServeOption interface {
	applyServe(*serveConfig)
}

// serveOption is a push-mode setting.
type serveOption func(*serveConfig)

func (o serveOption) applyServe(c *serveConfig) { o(c) }

// invalidServe is a ServeOption whose value was invalid: it records err.
func invalidServe(err error) ServeOption {
	return serveOption(func(c *serveConfig) { c.fail(err) })
}

// badOption returns the error of an invalid option: option is the call
// with its value, reason what a valid value is.
func badOption(option, reason string) error {
	return &socket.OptionError{Option: option, Reason: reason}
}

// errNilOption is a nil Option or ServeOption.
var errNilOption = badOption("nil option", "an option must not be nil")

// WithReadCredit bounds the read buffers a peer lends at once: a handler
// may Retain at most n before the peer stops reading until it releases
// one. While it does not read, the kernel buffers and then drops
// datagrams, and counts the drops (Stats). n must be at least 1. Default
// DefaultReadCredit.
func WithReadCredit(n int) ServeOption {
	if n < 1 {
		return invalidServe(badOption(fmt.Sprintf("WithReadCredit(%d)", n), "must be at least 1"))
	}
	return serveOption(func(c *serveConfig) { c.credit = n })
}

// WithReadSize sets the largest datagram delivered whole; a longer one is
// delivered cut, with Truncated set. Each lent buffer is this long: n
// must be from 1 to MaxDatagram. Default DefaultReadSize.
func WithReadSize(n int) ServeOption {
	if n < 1 || n > MaxDatagram {
		return invalidServe(badOption(fmt.Sprintf("WithReadSize(%d)", n), fmt.Sprintf("must be from 1 to %d (MaxDatagram)", MaxDatagram)))
	}
	return serveOption(func(c *serveConfig) { c.readSize = n })
}

// MinSendQueue is the smallest WithSendQueue: one largest datagram and
// the 64 bytes it counts beyond its length.
const MinSendQueue = MaxDatagram + sendOverhead

// WithSendQueue bounds the datagrams Conn.SendTo queues while the kernel's
// send buffer is full: each counts its length plus 64 bytes, and a SendTo
// that would take the queue past limit bytes is refused (EAGAIN). limit
// must be at least MinSendQueue, so that a largest datagram fits. Default
// DefaultSendQueue.
func WithSendQueue(limit int) ServeOption {
	if limit < MinSendQueue {
		return invalidServe(badOption(fmt.Sprintf("WithSendQueue(%d)", limit), fmt.Sprintf("must be at least %d (MinSendQueue)", MinSendQueue)))
	}
	return serveOption(func(c *serveConfig) { c.sendQueue = limit })
}

// WithHandlerSupervisor sets the strategy applied when the handler panics,
// as to a child actor: restart (a fresh handler on the same socket), stop
// (the peer closes) or resume; s must not be nil. Default: Proto.Actor's
// default, which restarts (at most 10 times in 10 s, then stops).
func WithHandlerSupervisor(s actor.SupervisorStrategy) ServeOption {
	if s == nil {
		return invalidServe(badOption("WithHandlerSupervisor(nil)", "a strategy must not be nil (leave the option out for the default)"))
	}
	return serveOption(func(c *serveConfig) { c.strategy = s })
}

// WithBlockingHandlers runs the handler on the system's worker pool
// instead of the poller's goroutine: for a handler that blocks (a
// Future.Wait, blocking I/O, a long computation). Without it a handler
// that blocks stalls every socket on its poller. It costs a goroutine
// hand-off per readiness.
func WithBlockingHandlers() ServeOption {
	return serveOption(func(c *serveConfig) { c.blocking = true })
}
