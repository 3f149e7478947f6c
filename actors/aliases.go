package actors

import (
	"time"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/poller"
)

// The names a user of System meets, defined with the socket-actor runtime
// in package core.
type (
	// MetricKey groups sockets in Metrics: by kind ("tcp.client",
	// "tcp.conn", "tcp.listener", "udp.peer", "socket") and by service,
	// the local address of the listener a socket belongs to ("" for
	// sockets of no service).
	MetricKey = core.MetricKey
	// Totals are the summed counters of a group of sockets: Open is how
	// many are live; the rest include sockets already closed.
	Totals = core.Totals
	// Stalled is published (as *Stalled) on the actor system's event
	// stream when a socket actor held its poller's goroutine past the
	// stall budget (see WithStallBudget).
	Stalled = core.Stalled
	// PollerStats are a poller actor's counters (Metrics.Pollers).
	PollerStats = poller.Stats
	// Loan is a read buffer a push-mode handler keeps past its call
	// (Connection.Retain, Conn.Retain) until it calls Release.
	Loan = core.Loan
)

// OtherServices is the service of the group Metrics sums closed sockets
// into once it keeps 1,024 groups of closed sockets: the groups (and the
// OpenTelemetry attribute sets made of them) stay bounded however many
// distinct addresses come and go.
const OtherServices = core.OtherServices

// DefaultStallBudget is how long one readiness delivery may hold a
// poller's goroutine before the watchdog moves the actor off the poller.
const DefaultStallBudget = core.DefaultStallBudget

// ErrSystemStopped is returned when spawning on a stopped system.
var ErrSystemStopped = core.ErrSystemStopped

// WithStallBudget sets the stall budget (see Stalled); zero or less turns
// the watchdog off. Default DefaultStallBudget.
func WithStallBudget(d time.Duration) Option {
	return func(o *options) { o.stall, o.stallSet = d, true }
}

// Backend is the kernel interface the pollers wait on (WithBackend).
type Backend = poller.Backend

// The backends WithBackend takes.
const (
	// BackendEpoll is epoll, the default on Linux.
	BackendEpoll = poller.BackendEpoll
	// BackendIOUring is io_uring readiness (Linux 5.13 or later): one
	// multishot poll request per socket. Where the kernel refuses
	// io_uring (ENOSYS, EPERM from the io_uring_disabled sysctl or
	// seccomp, a kernel too old) the pollers use epoll, and the process
	// logs so once.
	BackendIOUring = poller.BackendIOUring
)

// BackendEnv is the environment variable Start reads when no WithBackend
// is given: "epoll" or "io_uring" (empty: the default, epoll on Linux,
// kqueue on macOS and FreeBSD). The examples, the benchmark and the test
// suite run on io_uring with ACTORNET_BACKEND=io_uring.
const BackendEnv = "ACTORNET_BACKEND"

// WithBackend sets the pollers' kernel interface, in place of
// $ACTORNET_BACKEND and of the default (epoll on Linux).
func WithBackend(b Backend) Option {
	return func(o *options) { o.backend, o.backendSet = b, true }
}

// PollerName is the name of the i-th poller actor, "actornet/poller/0":
// the Name of Metrics.Pollers[i], the Id of PollerPIDs()[i].
func PollerName(i int) string { return core.PollerName(i) }
