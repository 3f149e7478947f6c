package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"go.opentelemetry.io/otel/metric"

	"github.com/actornet/actornet/poller"
)

// System is a running actornet: a Proto.Actor actor system, its pollers,
// and the socket actors spawned on it. Start one with Start and end it with
// Stop. Its methods are safe for concurrent use.
type System struct {
	// Actors is the underlying actor system, for spawning handler actors
	// and for Proto.Actor features actornet does not wrap.
	Actors *actor.ActorSystem

	pollers    []*poller.Poller
	spread     atomic.Uint64
	dispatcher *poolDispatcher
	// guarded spawns top-level socket actors under the stopping strategy.
	guarded *actor.RootContext
	remote  *remote.Remote
	faults  bool // WithFaultInjection
	// watchdog moves socket actors that block their poller to the pool.
	watchdog *watchdog
	// metricsReg is the OpenTelemetry callback registration, if any.
	metricsReg metric.Registration

	mu      sync.Mutex
	stopped bool
	sockets map[*actor.PID]tracked
	retired map[MetricKey]Totals // counts of closed sockets
	// live counts tracked socket actors; drained is closed once Stop has
	// begun and live is zero.
	live        int
	drained     chan struct{}
	drainedOnce sync.Once
}

// Option configures Start.
type Option func(*options)

type options struct {
	pollers int
	logger  *slog.Logger
	remote  string
	meters  metric.MeterProvider
	faults  bool
	// stall is the watchdog's budget (WithStallBudget).
	stall    time.Duration
	stallSet bool
}

// WithFaultInjection lets socket actors honour messages.InjectFault (they
// panic, and their supervisor acts), for chaos tests and demos. Off by
// default: a socket actor then refuses InjectFault as invalid_argument.
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
	logger := o.logger
	as := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	s := &System{Actors: as, sockets: make(map[*actor.PID]tracked), retired: make(map[MetricKey]Totals), dispatcher: newPoolDispatcher(300, time.Second), drained: make(chan struct{})}
	s.faults = o.faults
	s.guarded = as.Root.Copy().WithGuardian(StoppingStrategy())
	for i := 0; i < o.pollers; i++ {
		p, err := poller.New(as.Root)
		if err != nil {
			s.stopPollers(context.Background())
			as.Shutdown()
			return nil, err
		}
		s.pollers = append(s.pollers, p)
	}
	if o.meters != nil {
		if err := s.startMetrics(o.meters); err != nil {
			s.stopPollers(context.Background())
			as.Shutdown()
			return nil, err
		}
	}
	if o.remote != "" {
		if err := s.startRemote(o.remote); err != nil {
			_ = s.stopMetrics()
			s.stopPollers(context.Background())
			as.Shutdown()
			return nil, err
		}
	}
	if !o.stallSet {
		o.stall = DefaultStallBudget
	}
	s.watchdog = startWatchdog(s, o.stall)
	// A Call sent to a socket actor that has already stopped lands in dead
	// letters; answer it as closed rather than leaving its caller waiting.
	as.EventStream.Subscribe(func(evt interface{}) {
		if dl, ok := evt.(*actor.DeadLetterEvent); ok {
			rejectClosed(dl.Message)
		}
	})
	return s, nil
}

// Root is the root context, for sending to and spawning actors.
func (s *System) Root() *actor.RootContext { return s.Actors.Root }

// SpawnSocketActor spawns socket-actor props (see SocketProps) at the top
// level, supervised by a guardian that stops them when they fail. It
// fails with ErrSystemStopped once Stop has begun.
func (s *System) SpawnSocketActor(props *actor.Props) (*actor.PID, error) {
	if s.isStopped() {
		return nil, ErrSystemStopped
	}
	return s.guarded.Spawn(props), nil
}

// SpawnParked spawns socket-actor props whose producer parks its core
// (Core.Park) and hands the socket to a poller for the new actor, with
// readable and writable wanted from the start: the actor starts, and
// handles its first readiness and everything after, on that poller's
// goroutine rather than the caller's. coreOf returns the core the
// producer just built. A listener spawns its connections this way, so
// that no connection's code ever runs in its accept loop. On error the
// socket is closed and the actor stopped.
func (s *System) SpawnParked(props *actor.Props, coreOf func() *Core) (*actor.PID, error) {
	if s.isStopped() {
		return nil, ErrSystemStopped
	}
	pid := s.guarded.Spawn(props)
	c := coreOf()
	if c == nil || !c.parked || c.mb == nil || c.sock == nil {
		return pid, nil
	}
	if !s.track(pid, c.key, c) {
		c.parkFailed = true
		c.mb.unpark()
		return pid, ErrSystemStopped
	}
	reg, err := s.nextPoller().Register(c.sock.FD(), pid, poller.Readable, poller.Writable)
	if err != nil {
		c.parkFailed = true
		c.mb.unpark()
		return pid, err
	}
	c.parkedReg.Store(reg)
	return pid, nil
}

// Dispatcher returns the system's worker-pool dispatcher, for actors that
// talk to socket actors a lot (push-mode handlers): it runs mailboxes on
// long-lived goroutines instead of a new goroutine per schedule. Use it
// with actor.WithDispatcher; actors on it may block.
func (s *System) Dispatcher() actor.Dispatcher { return s.dispatcher }

// nextPoller returns the poller for a new socket: sockets are spread across
// pollers round robin.
func (s *System) nextPoller() *poller.Poller {
	n := s.spread.Add(1)
	return s.pollers[n%uint64(len(s.pollers))]
}

// Pollers returns the number of pollers and how many fds each watches.
func (s *System) Pollers() []int {
	load := make([]int, len(s.pollers))
	for i, p := range s.pollers {
		load[i] = p.Len()
	}
	return load
}

// ErrSystemStopped is returned when spawning on a stopped system.
var ErrSystemStopped = errors.New("actornet: system stopped")

// track records a live socket actor; it reports false once Stop has begun.
func (s *System) track(pid *actor.PID, key MetricKey, core *Core) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.sockets[pid] = tracked{key: key, core: core}
	s.live++
	return true
}

func (s *System) untrack(pid *actor.PID) {
	s.mu.Lock()
	e, ok := s.sockets[pid]
	if ok {
		key := e.key
		if _, ok := s.retired[key]; !ok && len(s.retired) >= maxRetiredGroups {
			// Every short-lived UDP peer is a service of its own: past the
			// bound, closed sockets of new services are summed together.
			key.Service = OtherServices
		}
		t := s.retired[key]
		t.add(&e.core.counts)
		s.retired[key] = t
	}
	delete(s.sockets, pid)
	if ok {
		s.live--
		if s.live == 0 && s.stopped {
			s.drainedOnce.Do(func() { close(s.drained) })
		}
	}
	s.mu.Unlock()
}

// Stopped reports whether Stop has begun.
func (s *System) Stopped() bool { return s.isStopped() }

func (s *System) isStopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// EachSocket calls f with the PID of every live socket actor of kind and
// service (see MetricKey), outside the system's lock: for a server that
// visits its connections now and then (tcp's idle sweep), at no cost per
// socket.
func (s *System) EachSocket(kind, service string, f func(*actor.PID)) {
	key := MetricKey{Kind: kind, Service: service}
	s.mu.Lock()
	var pids []*actor.PID
	for pid, t := range s.sockets {
		if t.key == key {
			pids = append(pids, pid)
		}
	}
	s.mu.Unlock()
	for _, pid := range pids {
		f(pid)
	}
}

// Sockets returns the number of live socket actors.
func (s *System) Sockets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sockets)
}

// Stop stops every socket actor (each answers its pending requests and
// closes its fd), then the pollers, then the actor system. It waits at most
// until ctx ends for the socket actors; past the deadline the pollers and
// the worker pool get 100 ms each to end, so Stop returns at most 200 ms
// after it, with an error naming what did not stop. Calling it again does
// nothing.
func (s *System) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	if s.live == 0 {
		s.drainedOnce.Do(func() { close(s.drained) })
	}
	pids := make([]*actor.PID, 0, len(s.sockets))
	for pid := range s.sockets {
		pids = append(pids, pid)
	}
	s.mu.Unlock()

	for _, pid := range pids {
		s.Actors.Root.Stop(pid)
	}
	var errs []error
	select {
	case <-s.drained:
	case <-ctx.Done():
		errs = append(errs, s.stuck(ctx.Err()))
	}
	s.stopRemote()
	pendingBySystem.Delete(s.Actors)
	_ = s.stopMetrics()
	s.watchdog.stop()
	// Past the deadline, each later stage still gets a short grace to end
	// what is idle, so that what is reported is what is really stuck.
	stage := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		stage, cancel = context.WithTimeout(context.WithoutCancel(ctx), stopGrace)
		defer cancel()
	}
	errs = append(errs, s.stopPollers(stage)...)
	if err := s.dispatcher.stop(stage); err != nil {
		errs = append(errs, err)
	}
	// The dead-letter subscription stays: a request sent to a socket actor
	// after Stop must still be answered (closed), not left waiting.
	s.Actors.Shutdown()
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

// stuck names the socket actors that had not stopped when ctx ended.
func (s *System) stuck(cause error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for pid, t := range s.sockets {
		if len(names) == 5 {
			names = append(names, "...")
			break
		}
		names = append(names, fmt.Sprintf("%s %s (%s)", t.key.Kind, t.key.Service, pid.Id))
	}
	sort.Strings(names)
	return fmt.Errorf("%d socket actor(s) did not stop: %s: %w", len(s.sockets), strings.Join(names, ", "), cause)
}

// stopGrace is how long each stage of Stop after the socket actors (the
// pollers, the worker pool) may take once Stop's deadline has passed.
const stopGrace = 100 * time.Millisecond

// stopPollers stops every poller, waiting for each until ctx ends; it
// returns what did not stop.
func (s *System) stopPollers(ctx context.Context) []error {
	for _, p := range s.pollers {
		_ = p.RequestStop() // all at once: the waits below then overlap
	}
	var errs []error
	for i, p := range s.pollers {
		if err := p.StopContext(ctx); err != nil {
			errs = append(errs, fmt.Errorf("poller %d: %w", i, err))
		}
	}
	return errs
}

// stopTimeout bounds how long Close waits in StopNow.
const stopTimeout = 10 * time.Second

// StopNow is Stop with a ten-second bound, for defers and tests.
func (s *System) StopNow() error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	return s.Stop(ctx)
}
