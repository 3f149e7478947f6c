package tcp

import (
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/asynkron/protoactor-go/actor"
)

// serverConfig is the push-mode part of a listener: how it runs the
// connection actor of each accepted connection. It is built once by Serve
// and only read afterwards (bufs is safe for concurrent use).
type serverConfig struct {
	sys        *actors.System
	handler    Handler
	strategy   actor.SupervisorStrategy
	credit     int
	readSize   int
	queueLimit int
	queueHigh  int
	queueLow   int
	maxConns   int
	batch      int
	keepOpen   bool
	blocking   bool
	idle       time.Duration
	framing    Framing
	bufs       *bufPool // read buffers, lent to handlers
}

// Defaults of push mode: bounded everywhere.
const (
	DefaultReadCredit     = 8
	DefaultReadSize       = 64 << 10
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
	}
}

// newServeConfig applies Serve's options.
func newServeConfig(sys *actors.System, handler Handler, opts []ServeOption) *serveConfig {
	c := &serveConfig{listen: defaultListenConfig(), server: defaultServerConfig(handler)}
	c.server.sys = sys
	for _, o := range opts {
		o.applyServe(c)
	}
	c.server.bufs = &bufPool{size: c.server.readSize}
	return c
}

// WithReadCredit bounds the read buffers a connection lends at once: a
// handler may Retain at most n before the connection stops reading until
// it releases one. For a Register handler it is the read credit: after n
// Received the connection reads only once the actor sends ResumeReading
// (Erlang's {active, N}). Default DefaultReadCredit.
func WithReadCredit(n int) ServeOption {
	return serveOption(func(s *serverConfig) { s.credit = max(n, 1) })
}

// WithIdleTimeout closes a push-mode connection that has moved no bytes,
// either way, for d (checked every d/2, so it closes between d and 1.5·d):
// the handler gets ErrorClosed (op "idle", status timeout) and the peer a
// FIN. A handler that keeps reading paused that long idles its connection
// too. Zero disables it; the default is DefaultIdleTimeout.
func WithIdleTimeout(d time.Duration) ServeOption {
	return serveOption(func(s *serverConfig) { s.idle = max(d, 0) })
}

// WithBlockingHandlers runs the server's handlers on the system's worker
// pool instead of the poller's goroutine: for handlers that block (a
// Future.Wait, blocking I/O, a long computation). Without it a handler
// that blocks stalls every connection on its poller. It costs a goroutine
// hand-off per event (see the README's benchmark for the price).
func WithBlockingHandlers() ServeOption {
	return serveOption(func(s *serverConfig) { s.blocking = true })
}

// WithReadSize sets the largest Received, in bytes. Default DefaultReadSize.
func WithReadSize(n int) ServeOption {
	return serveOption(func(s *serverConfig) { s.readSize = max(n, 1) })
}

// WithWriteQueue bounds a push-mode connection's write queue: a write that
// would take it past limit bytes is refused (Connection.Write returns
// EAGAIN; a Write message gets WriteFailed, would_block). Above high the
// connection stops reading and the handler gets WriteQueueFilled; at low
// it reads again and the handler gets WriteQueueDrained. Defaults
// DefaultWriteQueue, DefaultWriteHigh, DefaultWriteLow.
func WithWriteQueue(limit, high, low int) ServeOption {
	return serveOption(func(s *serverConfig) {
		s.queueLimit = max(limit, 1)
		s.queueHigh = min(max(high, 1), s.queueLimit)
		s.queueLow = min(max(low, 0), s.queueHigh)
	})
}

// WithMaxConnections bounds the live connections of a push-mode listener;
// beyond it new connections are closed at once and counted as rejected.
// Default DefaultMaxConnections.
func WithMaxConnections(n int) ServeOption {
	return serveOption(func(s *serverConfig) { s.maxConns = max(n, 1) })
}

// WithAcceptBatch bounds the connections accepted per readiness event
// before the listener lets other messages through. Default
// DefaultAcceptBatch.
func WithAcceptBatch(n int) ServeOption {
	return serveOption(func(s *serverConfig) { s.batch = max(n, 1) })
}

// WithKeepOpen keeps a connection open for writing after the peer
// half-closes (the handler gets PeerClosed and may still Write, then
// Close): for handlers whose answers come later, from other actors. Off
// by default: once the handler has handled PeerClosed, what it wrote is
// flushed and the connection closes.
func WithKeepOpen(on bool) ServeOption {
	return serveOption(func(s *serverConfig) { s.keepOpen = on })
}

// WithFraming splits each connection's stream into frames (LengthPrefixed,
// Lines): a Received carries one frame, credit counts frames, and each
// Write is framed. Without it a Received carries whatever one read got.
func WithFraming(f Framing) ServeOption {
	return serveOption(func(s *serverConfig) { s.framing = f })
}

// WithHandlerSupervisor sets the strategy applied when a handler panics,
// as to a child actor: restart (a fresh handler on the same connection,
// starting with Connected), stop (the connection closes) or resume.
// Default: Proto.Actor's default, which restarts (at most 10 times in 10
// s, then stops).
func WithHandlerSupervisor(s actor.SupervisorStrategy) ServeOption {
	return serveOption(func(sc *serverConfig) { sc.strategy = s })
}

// ServeOption configures Serve and StartService: a push-mode setting
// (WithReadCredit, WithFraming, WithBlockingHandlers...) or a ListenOption
// (WithBacklog, WithReusePort...), which is one too. Listen takes
// ListenOptions only, so a push-mode setting given to it does not compile.
type ServeOption interface {
	applyServe(*serveConfig)
}

// serveConfig is what Serve's options set: the listening socket's
// settings and the push-mode ones.
type serveConfig struct {
	listen listenConfig
	server *serverConfig
}

// serveOption is a push-mode setting.
type serveOption func(*serverConfig)

func (o serveOption) applyServe(c *serveConfig) { o(c.server) }
