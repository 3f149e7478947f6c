package actors

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/poller"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/remote"
	"go.opentelemetry.io/otel/metric"
)

// System is a running actornet: a Proto.Actor actor system, its pollers,
// and the socket actors spawned on it. Start one with Start and end it with
// Stop. Its methods are safe for concurrent use.
type System struct {
	// Actors is the underlying actor system, for spawning handler actors
	// and for Proto.Actor features actornet does not wrap.
	Actors *actor.ActorSystem

	// rt runs the socket actors: pollers, worker pool, watchdog, registry.
	rt     *core.Runtime
	remote *remote.Remote
	// guard enforces the remote policy (WithRemotePolicy) on what other
	// nodes send; nil without remote.
	guard *remoteGuard
	// cluster is the cluster this system is a member of (WithCluster),
	// and providerHTTP the automanaged provider's endpoint.
	cluster      *cluster.Cluster
	providerHTTP *providerServer
	topology     *topology
	// metricsReg is the OpenTelemetry callback registration, if any.
	metricsReg metric.Registration
}

// Option configures Start.
type Option func(*options)

type options struct {
	pollers int
	logger  *slog.Logger
	remote  string
	cluster *ClusterConfig
	// remoteTLS secures remote and the cluster (WithRemoteTLS);
	// insecureRemote allows a non-loopback address without it.
	remoteTLS      *RemoteTLS
	insecureRemote bool
	// policy decides remote requests (WithRemotePolicy; nil refuses
	// them all).
	policy Policy
	meters metric.MeterProvider
	faults bool
	// stall is the watchdog's budget (WithStallBudget).
	stall    time.Duration
	stallSet bool
	// backend is the pollers' kernel interface (WithBackend, else
	// $ACTORNET_BACKEND).
	backend    Backend
	backendSet bool
}

// WithFaultInjection lets socket actors and poller actors honour
// messages.InjectFault (a socket actor panics, and its supervisor acts; a
// poller's wait loop fails, see PollerPIDs), for chaos tests and demos.
// Off by default: they then refuse InjectFault as invalid_argument.
func WithFaultInjection() Option { return func(o *options) { o.faults = true } }

// WithPollers sets the number of poller goroutines (epoll instances). Zero
// or less means one per CPU (runtime.GOMAXPROCS).
func WithPollers(n int) Option { return func(o *options) { o.pollers = n } }

// WithLogger sets the logger of the actor system. By default it logs only
// errors, to standard error, so that starting a system prints nothing: a
// push-mode handler that panics (with its stack), a handler that stalls
// its poller.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Start starts an actor system and its pollers.
func Start(opts ...Option) (*System, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.pollers <= 0 {
		o.pollers = runtime.GOMAXPROCS(0)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	exposed := o.remote
	if o.cluster != nil {
		exposed = o.cluster.Node
	}
	if exposed != "" {
		if err := checkExposure(exposed, &o); err != nil {
			return nil, err
		}
	}
	if !o.backendSet {
		b, err := poller.ParseBackend(os.Getenv(BackendEnv))
		if err != nil {
			return nil, fmt.Errorf("actornet: start: %s: %w", BackendEnv, err)
		}
		o.backend = b
	}
	logger := o.logger
	if o.cluster != nil || o.remote != "" {
		logger = slog.New(quietProvider{logger.Handler()})
	}
	as := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	compactRegistry(as)
	if !o.stallSet {
		o.stall = DefaultStallBudget
	}
	rt, err := core.NewRuntime(as, core.Config{Pollers: o.pollers, Faults: o.faults, StallBudget: o.stall, Backend: o.backend})
	if err != nil {
		as.Shutdown()
		return nil, err
	}
	s := &System{Actors: as, rt: rt}
	systems.Store(as, s)
	if o.meters != nil {
		if err := s.startMetrics(o.meters); err != nil {
			s.abort()
			return nil, err
		}
	}
	if o.cluster != nil || o.remote != "" {
		s.guard = newRemoteGuard(s, o.policy)
	}
	if o.cluster != nil {
		if err := s.startCluster(*o.cluster, o.remoteTLS); err != nil {
			_ = s.stopMetrics()
			s.abort()
			return nil, err
		}
	} else if o.remote != "" {
		if err := s.startRemote(o.remote, o.remoteTLS); err != nil {
			_ = s.stopMetrics()
			s.abort()
			return nil, err
		}
	}
	return s, nil
}

// abort undoes a Start that failed half way.
func (s *System) abort() {
	systems.Delete(s.Actors)
	s.rt.StopWatchdog()
	s.rt.StopPollers(context.Background())
	_ = s.rt.StopDispatcher(context.Background())
	s.Actors.Shutdown()
}

// systems maps each running System's actor system to it (SystemOf).
var systems sync.Map

// SystemOf returns the System whose actor system is as, or nil if there
// is none (not started by Start, or stopped): for an actor that needs its
// node's System and has only its context (ctx.ActorSystem()), such as a
// cluster kind's, which Proto.Actor spawns.
func SystemOf(as *actor.ActorSystem) *System {
	if s, ok := systems.Load(as); ok {
		return s.(*System)
	}
	return nil
}

// Runtime returns the runtime the system's socket actors run on: for the
// protocol packages (tcp, udp) and other code that builds socket actors
// (core.SocketProps). Applications do not need it.
func (s *System) Runtime() *core.Runtime { return s.rt }

// Root is the root context, for sending to and spawning actors.
func (s *System) Root() *actor.RootContext {
	if s == nil {
		return nil
	}
	return s.Actors.Root
}

// Dispatcher returns the system's worker-pool dispatcher, for actors that
// talk to socket actors a lot (push-mode handlers): it runs mailboxes on
// long-lived goroutines instead of a new goroutine per schedule. Use it
// with actor.WithDispatcher; actors on it may block.
func (s *System) Dispatcher() actor.Dispatcher { return s.rt.Dispatcher() }

// Backend returns the kernel interface the system's pollers run on: the
// one asked for (WithBackend, $ACTORNET_BACKEND), or epoll where the
// kernel refused io_uring.
func (s *System) Backend() Backend { return s.rt.Backend() }

// Pollers returns the number of pollers and how many fds each watches.
func (s *System) Pollers() []int { return s.rt.Pollers() }

// Stopped reports whether Stop has begun.
func (s *System) Stopped() bool { return s.rt.Stopped() }

// Sockets returns the number of live socket actors. One ended by Close
// is no longer counted once Close returns, though its actor may take a
// moment more to stop (Stop still waits for it).
func (s *System) Sockets() int { return s.rt.Sockets() }

// Metrics returns a snapshot of the system's counters: the socket
// actors' by kind and service, and the poller actors'. Counters only grow:
// a closed socket's last values stay in its group's totals, a failed
// poller's in its actor's.
func (s *System) Metrics() Metrics {
	return Metrics{Sockets: s.rt.Metrics(), Pollers: s.rt.PollerStats(), Remote: s.guard.totals()}
}

// Metrics is a snapshot of a system's counters (System.Metrics).
type Metrics struct {
	// Sockets are the socket actors' counters by kind and service.
	Sockets map[MetricKey]Totals
	// Pollers are each poller actor's counters, in the order of
	// PollerPIDs.
	Pollers []PollerStats
	// Remote counts what the node's remote policy decided
	// (WithRemotePolicy); empty for a system without remote.
	Remote RemoteTotals
}

// PollerPIDs returns the PID of each poller actor ("actornet/poller/0",
// ...): an actor may watch one (it gets *actor.Terminated when the poller
// stops) or ask it for its counters (messages.GetPollerStats, answered by
// messages.PollerStats). A poller whose wait loop fails keeps its PID: its
// actor starts a fresh loop, and publishes *messages.PollerFailed on the
// event stream.
func (s *System) PollerPIDs() []*actor.PID { return s.rt.PollerPIDs() }

// Stop stops every socket actor (each answers its pending requests and
// closes its fd), then the pollers, then the actor system. It waits at most
// until ctx ends for the socket actors; past the deadline the pollers and
// the worker pool get 100 ms each to end, so Stop returns at most 200 ms
// after it, with an error naming what did not stop. Calling it again does
// nothing.
func (s *System) Stop(ctx context.Context) error {
	pids, first := s.rt.BeginStop()
	if !first {
		return nil
	}

	for _, pid := range pids {
		s.Actors.Root.Stop(pid)
	}
	var errs []error
	select {
	case <-s.rt.Drained():
	case <-ctx.Done():
		errs = append(errs, s.rt.Stuck(ctx.Err()))
	}
	if s.cluster != nil {
		s.stopCluster()
	} else {
		s.stopRemote()
	}
	pendingBySystem.Delete(s.Actors)
	_ = s.stopMetrics()
	s.rt.StopWatchdog()
	// Past the deadline, each later stage still gets a short grace to end
	// what is idle, so that what is reported is what is really stuck.
	stage := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		stage, cancel = context.WithTimeout(context.WithoutCancel(ctx), stopGrace)
		defer cancel()
	}
	errs = append(errs, s.rt.StopPollers(stage)...)
	if err := s.rt.StopDispatcher(stage); err != nil {
		errs = append(errs, err)
	}
	// The dead-letter subscription stays: a request sent to a socket actor
	// after Stop must still be answered (closed), not left waiting.
	s.Actors.Shutdown()
	systems.Delete(s.Actors)
	if len(errs) > 0 {
		return stopError(errs)
	}
	return nil
}

// stopError is what Stop reports when something did not stop by its
// deadline: one line naming each part, matching errors.Is with ctx's
// error.
type stopError []error

func (e stopError) Error() string {
	parts := make([]string, len(e))
	for i, err := range e {
		parts[i] = err.Error()
	}
	return "actornet: stop: " + strings.Join(parts, "; ")
}

func (e stopError) Unwrap() []error { return e }

// stopGrace is how long each stage of Stop after the socket actors (the
// pollers, the worker pool) may take once Stop's deadline has passed.
const stopGrace = 100 * time.Millisecond

// stopTimeout bounds how long Close waits in StopNow.
const stopTimeout = 10 * time.Second

// StopNow is Stop with a ten-second bound, for defers and tests.
func (s *System) StopNow() error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	return s.Stop(ctx)
}
