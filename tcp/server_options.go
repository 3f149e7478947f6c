package tcp

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// serverConfig is the push-mode part of a listener: how it spawns and runs
// the connection actor and handler of each accepted connection. It is
// built once by Serve and only read afterwards.
type serverConfig struct {
	handler    *actor.Props
	strategy   actor.SupervisorStrategy
	credit     int
	readSize   int
	queueLimit int
	queueHigh  int
	queueLow   int
	maxConns   int
	batch      int
	keepOpen   bool
	idle       time.Duration
	framing    Framing
	// loans, when set (WithLoanedReads), is the pool Received buffers are
	// lent from.
	loans *sync.Pool
}

// Defaults of push mode: bounded everywhere.
const (
	DefaultReadCredit     = 8
	DefaultReadSize       = 16 << 10
	DefaultWriteQueue     = 4 << 20
	DefaultWriteHigh      = 1 << 20
	DefaultWriteLow       = 256 << 10
	DefaultMaxConnections = 8192
	DefaultAcceptBatch    = 64
	DefaultIdleTimeout    = 5 * time.Minute
)

func defaultServerConfig(handler *actor.Props) *serverConfig {
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

// WithReadCredit sets how many Received a push-mode connection sends its
// handler before it stops reading until the handler sends ResumeReading
// (Erlang's {active, N}). Default DefaultReadCredit.
func WithReadCredit(n int) ListenOption {
	return func(c *listenConfig) { c.server(func(s *serverConfig) { s.credit = max(n, 1) }) }
}

// WithIdleTimeout closes a push-mode connection that has moved no bytes,
// either way, for d (checked every d/2, so it closes between d and 1.5·d):
// the handler gets ErrorClosed (op "idle", status timeout) and the peer a
// FIN. A handler that withholds read credit that long idles its connection
// too. Zero disables it; the default is DefaultIdleTimeout.
func WithIdleTimeout(d time.Duration) ListenOption {
	return func(c *listenConfig) { c.server(func(s *serverConfig) { s.idle = max(d, 0) }) }
}

// WithLoanedReads makes push-mode connections lend their read buffers
// instead of copying each read into a new slice: a Received's Data is a
// pooled buffer that stays the handler's only until it gives back the
// credit that Received used. Each credit granted (ResumeReading, or a
// Write's credit) returns the oldest outstanding buffer to the pool, so a
// handler must be done with Data, or have copied what it keeps, by the
// time it grants the credit back. A Write may pass Data on as it is: the
// connection writes it at once, or copies it if it has to queue it. This
// saves an allocation and a copy per read, which is what bulk transfers
// and larger messages pay for. Ignored with WithFraming (frames are
// always copies).
func WithLoanedReads() ListenOption {
	return func(c *listenConfig) { c.server(func(s *serverConfig) { s.loans = &sync.Pool{} }) }
}

// WithReadSize sets the largest Received, in bytes. Default DefaultReadSize.
func WithReadSize(n int) ListenOption {
	return func(c *listenConfig) { c.server(func(s *serverConfig) { s.readSize = max(n, 1) }) }
}

// WithWriteQueue bounds a push-mode connection's write queue: a Write that
// would take it past limit bytes is refused (WriteFailed, would_block);
// the handler gets WriteQueueFilled above high and WriteQueueDrained back
// at low. Defaults DefaultWriteQueue, DefaultWriteHigh, DefaultWriteLow.
func WithWriteQueue(limit, high, low int) ListenOption {
	return func(c *listenConfig) {
		c.server(func(s *serverConfig) {
			s.queueLimit = max(limit, 1)
			s.queueHigh = min(max(high, 1), s.queueLimit)
			s.queueLow = min(max(low, 0), s.queueHigh)
		})
	}
}

// WithMaxConnections bounds the live connections of a push-mode listener;
// beyond it new connections are closed at once and counted as rejected.
// Default DefaultMaxConnections.
func WithMaxConnections(n int) ListenOption {
	return func(c *listenConfig) { c.server(func(s *serverConfig) { s.maxConns = max(n, 1) }) }
}

// WithAcceptBatch bounds the connections accepted per readiness event
// before the listener lets other messages through. Default
// DefaultAcceptBatch.
func WithAcceptBatch(n int) ListenOption {
	return func(c *listenConfig) { c.server(func(s *serverConfig) { s.batch = max(n, 1) }) }
}

// WithKeepOpen keeps a connection open for writing after the peer
// half-closes (the handler gets PeerClosed and may still Write, then
// Close). Off by default: PeerClosed is followed by a close.
func WithKeepOpen(on bool) ListenOption {
	return func(c *listenConfig) { c.server(func(s *serverConfig) { s.keepOpen = on }) }
}

// WithFraming splits each connection's stream into frames (LengthPrefixed,
// Lines): a Received carries one frame, credit counts frames, and each
// Write is framed. Without it a Received carries whatever one read got.
func WithFraming(f Framing) ListenOption {
	return func(c *listenConfig) { c.server(func(s *serverConfig) { s.framing = f }) }
}

// WithHandlerSupervisor sets the strategy that supervises handlers.
// Default: Proto.Actor's default, which restarts a failed handler.
func WithHandlerSupervisor(s actor.SupervisorStrategy) ListenOption {
	return func(c *listenConfig) { c.server(func(sc *serverConfig) { sc.strategy = s }) }
}

// server records a push-mode setting; Serve applies them.
func (c *listenConfig) server(f func(*serverConfig)) { c.serverOpts = append(c.serverOpts, f) }
