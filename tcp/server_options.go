package tcp

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/actors/core"
	"github.com/asynkron/protoactor-go/actor"
)

// serverConfig is the push-mode part of a listener: how it runs the
// connection actor of each accepted connection. It is built once by Serve
// and only read afterwards (bufs is safe for concurrent use).
type serverConfig struct {
	sys          *actors.System
	handler      Handler
	strategy     actor.SupervisorStrategy
	credit       int
	readSize     int
	queueLimit   int
	queueHigh    int
	queueLow     int
	maxConns     int
	batch        int
	keepOpen     bool
	blocking     bool
	idle         time.Duration
	framing      Framing
	tls          *tls.Config   // nil: plain TCP
	handshake    time.Duration // a TLS handshake's deadline
	handshakeSet bool          // WithHandshakeTimeout was given
	bufs         *bufPool      // read buffers, lent to handlers
}

// Defaults of push mode: bounded everywhere.
const (
	DefaultReadCredit = 8
	DefaultReadSize   = 64 << 10
	// MaxReadSize bounds WithReadSize: a read buffer is allocated whole,
	// whatever arrives, so its size is what memory per connection
	// grows by.
	MaxReadSize           = 4 << 20
	DefaultWriteQueue     = 4 << 20
	DefaultWriteHigh      = 1 << 20
	DefaultWriteLow       = 256 << 10
	DefaultMaxConnections = 8192
	DefaultAcceptBatch    = 64
	DefaultIdleTimeout    = 5 * time.Minute
)

func defaultServerConfig(handler Handler) *serverConfig {
	return &serverConfig{
		handler:    handler,
		strategy:   actor.DefaultSupervisorStrategy(),
		credit:     DefaultReadCredit,
		readSize:   DefaultReadSize,
		queueLimit: DefaultWriteQueue,
		queueHigh:  DefaultWriteHigh,
		queueLow:   DefaultWriteLow,
		maxConns:   DefaultMaxConnections,
		batch:      DefaultAcceptBatch,
		idle:       DefaultIdleTimeout,
		handshake:  DefaultHandshakeTimeout,
	}
}

// newServeConfig applies Serve's options; the error is that of the first
// invalid one (an *socket.OptionError).
func newServeConfig(sys *actors.System, handler Handler, opts []ServeOption) (*serveConfig, error) {
	c := &serveConfig{listen: defaultListenConfig(), server: defaultServerConfig(handler)}
	c.server.sys = sys
	for _, o := range opts {
		if o == nil {
			c.fail(errNilOption)
			continue
		}
		o.applyServe(c)
	}
	if c.server.handshakeSet && c.server.tls == nil {
		c.fail(badOption(fmt.Sprintf("WithHandshakeTimeout(%v)", c.server.handshake), "needs WithTLS: a server without TLS has no handshake"))
	}
	if c.err != nil {
		return nil, c.err
	}
	c.server.bufs = &bufPool{size: c.server.readSize}
	return c, nil
}

// WithReadCredit bounds the read buffers a connection lends at once: a
// handler may Retain at most n before the connection stops reading until
// it releases one. For a Register handler it is the read credit: after n
// Received the connection reads only once the actor sends ResumeReading
// (Erlang's {active, N}). n must be at least 1. Default DefaultReadCredit.
func WithReadCredit(n int) ServeOption {
	if n < 1 {
		return invalidServe(badOption(fmt.Sprintf("WithReadCredit(%d)", n), "must be at least 1"))
	}
	return serveOption(func(c *serveConfig) { c.server.credit = n })
}

// minIdleTimeout is the shortest idle timeout: the sweep runs every half
// of it.
const minIdleTimeout = time.Millisecond

// WithIdleTimeout closes a push-mode connection that has moved no bytes,
// either way, for d (checked every d/2, so it closes between d and 1.5·d):
// the handler gets ErrorClosed (op "idle", status timeout) and the peer a
// FIN. A handler that keeps reading paused that long idles its connection
// too. Zero disables it; otherwise d must be at least 1 ms. The default
// is DefaultIdleTimeout.
func WithIdleTimeout(d time.Duration) ServeOption {
	if d < 0 || (d > 0 && d < minIdleTimeout) {
		return invalidServe(badOption(fmt.Sprintf("WithIdleTimeout(%v)", d), "must be 0 (off) or at least 1ms"))
	}
	return serveOption(func(c *serveConfig) { c.server.idle = d })
}

// WithBlockingHandlers runs the server's handlers on the system's worker
// pool instead of the poller's goroutine: for handlers that block (a
// Future.Wait, blocking I/O, a long computation). Without it a handler
// that blocks stalls every connection on its poller. It costs a goroutine
// hand-off per event (see the README's benchmark for the price).
func WithBlockingHandlers() ServeOption {
	return serveOption(func(c *serveConfig) { c.server.blocking = true })
}

// WithReadSize sets the largest Received, in bytes: each read buffer is
// this long, and a connection may hold WithReadCredit of them. n must be
// from 1 to MaxReadSize. Default DefaultReadSize.
func WithReadSize(n int) ServeOption {
	if n < 1 || n > MaxReadSize {
		return invalidServe(badOption(fmt.Sprintf("WithReadSize(%d)", n), fmt.Sprintf("must be from 1 to %d (MaxReadSize)", MaxReadSize)))
	}
	return serveOption(func(c *serveConfig) { c.server.readSize = n })
}

// WithWriteQueue bounds a push-mode connection's write queue: a write that
// would take it past limit bytes is refused (Conn.Write returns
// EAGAIN, or EMSGSIZE for a write longer than limit; a Write message gets
// WriteFailed, would_block). Above high the connection stops reading and
// the handler gets WriteQueueFilled; at low it reads again and the
// handler gets WriteQueueDrained. They must satisfy 0 <= low <= high <=
// limit and 1 <= high. Defaults DefaultWriteQueue, DefaultWriteHigh,
// DefaultWriteLow.
func WithWriteQueue(limit, high, low int) ServeOption {
	name := fmt.Sprintf("WithWriteQueue(%d, %d, %d)", limit, high, low)
	switch {
	case high < 1:
		return invalidServe(badOption(name, "high must be at least 1"))
	case high > limit:
		return invalidServe(badOption(name, "high must be at most limit"))
	case low < 0:
		return invalidServe(badOption(name, "low must be at least 0"))
	case low > high:
		return invalidServe(badOption(name, "low must be at most high"))
	}
	return serveOption(func(c *serveConfig) {
		c.server.queueLimit, c.server.queueHigh, c.server.queueLow = limit, high, low
	})
}

// WithMaxConnections bounds the live connections of a push-mode listener;
// beyond it new connections are closed at once and counted as rejected.
// n must be at least 1. Default DefaultMaxConnections.
func WithMaxConnections(n int) ServeOption {
	if n < 1 {
		return invalidServe(badOption(fmt.Sprintf("WithMaxConnections(%d)", n), "must be at least 1"))
	}
	return serveOption(func(c *serveConfig) { c.server.maxConns = n })
}

// WithAcceptBatch bounds the connections accepted per readiness event
// before the listener lets other messages through. n must be at least 1.
// Default DefaultAcceptBatch.
func WithAcceptBatch(n int) ServeOption {
	if n < 1 {
		return invalidServe(badOption(fmt.Sprintf("WithAcceptBatch(%d)", n), "must be at least 1"))
	}
	return serveOption(func(c *serveConfig) { c.server.batch = n })
}

// WithKeepOpen keeps a connection open for writing after the peer
// half-closes (the handler gets PeerClosed and may still Write, then
// Close): for handlers whose answers come later, from other actors. Off
// by default: once the handler has handled PeerClosed, what it wrote is
// flushed and the connection closes.
func WithKeepOpen(on bool) ServeOption {
	return serveOption(func(c *serveConfig) { c.server.keepOpen = on })
}

// WithFraming splits each connection's stream into frames (LengthPrefixed,
// Lines): a Received carries one frame, credit counts frames, and each
// Write is framed. Without it a Received carries whatever one read got;
// f must not be nil.
func WithFraming(f Framing) ServeOption {
	if f == nil {
		return invalidServe(badOption("WithFraming(nil)", "a framing must not be nil (leave the option out for none)"))
	}
	return serveOption(func(c *serveConfig) { c.server.framing = f })
}

// WithHandlerSupervisor sets the strategy applied when a handler panics,
// as to a child actor: restart (a fresh handler on the same connection,
// starting with Connected), stop (the connection closes) or resume; s
// must not be nil. Default: Proto.Actor's default, which restarts (at
// most 10 times in 10 s, then stops).
func WithHandlerSupervisor(s actor.SupervisorStrategy) ServeOption {
	if s == nil {
		return invalidServe(badOption("WithHandlerSupervisor(nil)", "a strategy must not be nil (leave the option out for the default)"))
	}
	return serveOption(func(c *serveConfig) { c.server.strategy = s })
}

// ServeOption configures Serve and StartService: a push-mode setting
// (WithReadCredit, WithFraming, WithBlockingHandlers...) or a ListenOption
// (WithBacklog, WithReusePort...), which is one too. Listen takes
// ListenOptions only, so a push-mode setting given to it does not compile.
// An option given an invalid value makes Serve and StartService fail with
// an error naming the option and the value (wrapping
// socket.ErrInvalidArgument).
type ServeOption interface {
	applyServe(*serveConfig)
}

// serveConfig is what Serve's options set: the listening socket's
// settings, the push-mode ones and the first invalid option, if any.
type serveConfig struct {
	listen listenConfig
	server *serverConfig
	err    error
}

func (c *serveConfig) fail(err error) { c.err = core.FirstError(c.err, err) }

// serveOption is a push-mode setting.
type serveOption func(*serveConfig)

func (o serveOption) applyServe(c *serveConfig) { o(c) }

// invalidServe is a ServeOption whose value was invalid: it records err.
func invalidServe(err error) ServeOption {
	return serveOption(func(c *serveConfig) { c.fail(err) })
}
