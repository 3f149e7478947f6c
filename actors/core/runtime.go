package core

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// Runtime is what socket actors run on: the pollers, the worker pool, the
// guardian that stops failed socket actors, the stall watchdog and the
// registry of live socket actors (for Metrics and for Stop). An
// actors.System owns one (System.Runtime); protocol packages (tcp, udp)
// spawn their socket actors through it. Its methods are safe for
// concurrent use.
type Runtime struct {
	as         *actor.ActorSystem
	pollers    []*poller.Actor
	spread     atomic.Uint64
	dispatcher *poolDispatcher
	// guarded spawns top-level socket actors under the stopping strategy.
	guarded *actor.RootContext
	faults  bool // Config.Faults
	// watchdog moves socket actors that block their poller to the pool.
	watchdog *watchdog

	mu      sync.Mutex
	stopped bool
	sockets map[*actor.PID]tracked
	retired map[MetricKey]Totals // counts of closed sockets
	// live counts tracked socket actors; drained is closed once the stop
	// has begun and live is zero. closed counts those of them a Close
	// request ended, which are stopping.
	live        int
	closed      int
	drained     chan struct{}
	drainedOnce sync.Once
}

// Config is what NewRuntime needs from actors.Start's options.
type Config struct {
	// Pollers is the number of pollers (at least one).
	Pollers int
	// Faults lets socket actors honour messages.InjectFault.
	Faults bool
	// StallBudget is the watchdog's budget; zero or less disables it.
	StallBudget time.Duration
	// Backend is the pollers' kernel interface (poller.BackendDefault:
	// epoll on Linux).
	Backend poller.Backend
}

// ErrSystemStopped is returned when spawning on a stopped system.
var ErrSystemStopped = errors.New("actornet: system stopped")

// NewRuntime starts the pollers, the worker pool and the watchdog on as.
// On error nothing is left running.
func NewRuntime(as *actor.ActorSystem, cfg Config) (*Runtime, error) {
	rt := &Runtime{
		as:         as,
		sockets:    make(map[*actor.PID]tracked),
		retired:    make(map[MetricKey]Totals),
		dispatcher: newPoolDispatcher(300, time.Second),
		drained:    make(chan struct{}),
		faults:     cfg.Faults,
		guarded:    as.Root.Copy().WithGuardian(StoppingStrategy()),
	}
	// Pollers are actors under a guardian that restarts a failed one (a
	// fresh wait loop) and stops one that keeps failing.
	supervised := as.Root.Copy().WithGuardian(poller.Strategy())
	for i := 0; i < max(cfg.Pollers, 1); i++ {
		p, err := poller.Spawn(supervised, PollerName(i), cfg.Faults, poller.WithBackend(cfg.Backend))
		if err != nil {
			rt.StopPollers(context.Background())
			return nil, err
		}
		rt.pollers = append(rt.pollers, p)
	}
	rt.watchdog = startWatchdog(rt, cfg.StallBudget)
	// A Call sent to a socket actor that has already stopped lands in dead
	// letters; answer it as closed rather than leaving its caller waiting.
	as.EventStream.Subscribe(func(evt interface{}) {
		if dl, ok := evt.(*actor.DeadLetterEvent); ok {
			RejectClosed(dl.Message)
		}
	})
	return rt, nil
}

// Root is the actor system's root context.
func (rt *Runtime) Root() *actor.RootContext { return rt.as.Root }

// SpawnSocketActor spawns socket-actor props (see SocketProps) at the top
// level, named with SecretName, supervised by a guardian that stops them
// when they fail. It fails with ErrSystemStopped once the stop has begun.
func (rt *Runtime) SpawnSocketActor(props *actor.Props) (*actor.PID, error) {
	if rt.Stopped() {
		return nil, ErrSystemStopped
	}
	return rt.guarded.SpawnNamed(props, SecretName())
}

// SpawnParked spawns socket-actor props whose producer parks its core
// (Core.Park) and hands the socket to a poller for the new actor, with
// readable and writable wanted from the start: the actor starts, and
// handles its first readiness and everything after, on that poller's
// goroutine rather than the caller's. coreOf returns the core the
// producer just built. A listener spawns its connections this way, so
// that no connection's code ever runs in its accept loop. On error the
// socket is closed and the actor stopped.
func (rt *Runtime) SpawnParked(props *actor.Props, coreOf func() *Core) (*actor.PID, error) {
	if rt.Stopped() {
		return nil, ErrSystemStopped
	}
	pid, err := rt.guarded.SpawnNamed(props, SecretName())
	if err != nil {
		return nil, err
	}
	c := coreOf()
	if c == nil || !c.parked || c.mb == nil || c.sock == nil {
		return pid, nil
	}
	if !rt.track(pid, c.key, c) {
		c.parkFailed = true
		c.mb.unpark()
		return pid, ErrSystemStopped
	}
	reg, err := rt.register(c.sock.FD(), pid, c.recv, poller.Readable, poller.Writable)
	if err != nil {
		c.parkFailed = true
		c.mb.unpark()
		return pid, err
	}
	c.deliverDirect(reg)
	c.parkedReg.Store(reg)
	return pid, nil
}

// Dispatcher returns the worker-pool dispatcher: it runs mailboxes on
// long-lived goroutines instead of a new goroutine per schedule.
func (rt *Runtime) Dispatcher() actor.Dispatcher { return rt.dispatcher }

// PollerName is the name of the i-th poller actor: "actornet/poller/0".
func PollerName(i int) string { return fmt.Sprintf("actornet/poller/%d", i) }

// register hands fd to a poller for pid: sockets are spread across
// pollers round robin. A poller that has just failed or stopped is
// skipped (its actor puts a fresh loop in its place at once).
// With a recv limit (buffers) the poller receives the socket's bytes
// itself where its backend can (poller.RegisterRecv).
func (rt *Runtime) register(fd int, pid *actor.PID, recv int, want ...poller.Direction) (*poller.Registration, error) {
	var err error = &socket.PollerError{Poller: "actornet/poller/*", Reason: "no poller running: every poller of the system has stopped"}
	for range len(rt.pollers) {
		p := rt.pollers[rt.spread.Add(1)%uint64(len(rt.pollers))].Current()
		if p == nil {
			continue
		}
		var reg *poller.Registration
		var e error
		if recv > 0 {
			reg, e = p.RegisterRecv(fd, pid, recv, want...)
		} else {
			reg, e = p.Register(fd, pid, want...)
		}
		if e == nil {
			return reg, nil
		}
		if !errors.Is(e, poller.ErrStopped) && p.Failed() == nil {
			return nil, e
		}
	}
	return nil, err
}

// Backend returns the kernel interface the pollers run on: the one asked
// for, or epoll where the kernel refused io_uring.
func (rt *Runtime) Backend() poller.Backend { return rt.pollers[0].Backend() }

// RecvBuffersOut returns how many receive buffers of the pollers (io_uring)
// are out: filled by the kernel, not yet given back by their sockets.
func (rt *Runtime) RecvBuffersOut() int {
	n := 0
	for _, a := range rt.pollers {
		if p := a.Current(); p != nil {
			n += p.RecvBuffersOut()
		}
	}
	return n
}

// Sends returns how many sends the pollers (io_uring) made for their
// sockets instead of the sockets' own write(2): 0 on epoll, or with
// poller.SendEnv 0.
func (rt *Runtime) Sends() uint64 {
	var n uint64
	for _, a := range rt.pollers {
		if p := a.Current(); p != nil {
			n += p.Sends()
		}
	}
	return n
}

// Pollers returns how many fds each poller watches.
func (rt *Runtime) Pollers() []int {
	load := make([]int, len(rt.pollers))
	for i, a := range rt.pollers {
		if p := a.Current(); p != nil {
			load[i] = p.Len()
		}
	}
	return load
}

// PollerStats returns each poller's counters, in order.
func (rt *Runtime) PollerStats() []poller.Stats {
	out := make([]poller.Stats, len(rt.pollers))
	for i, a := range rt.pollers {
		out[i] = a.Stats()
	}
	return out
}

// PollerPIDs returns the PID of each poller actor, in order: actors may
// watch them, and ask them for messages.PollerStats.
func (rt *Runtime) PollerPIDs() []*actor.PID {
	out := make([]*actor.PID, len(rt.pollers))
	for i, a := range rt.pollers {
		out[i] = a.PID()
	}
	return out
}

// track records a live socket actor; it reports false once the stop has
// begun.
func (rt *Runtime) track(pid *actor.PID, key MetricKey, core *Core) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.stopped {
		return false
	}
	rt.sockets[pid] = tracked{key: key, core: core}
	rt.live++
	return true
}

func (rt *Runtime) untrack(pid *actor.PID) {
	rt.mu.Lock()
	e, ok := rt.sockets[pid]
	if ok {
		key := e.key
		if _, ok := rt.retired[key]; !ok && len(rt.retired) >= maxRetiredGroups {
			// Every short-lived UDP peer is a service of its own: past the
			// bound, closed sockets of new services are summed together.
			key.Service = OtherServices
		}
		t := rt.retired[key]
		t.add(&e.core.counts)
		rt.retired[key] = t
	}
	delete(rt.sockets, pid)
	if ok {
		if e.closed {
			rt.closed--
		}
		rt.live--
		if rt.live == 0 && rt.stopped {
			rt.drainedOnce.Do(func() { close(rt.drained) })
		}
	}
	rt.mu.Unlock()
}

// Stopped reports whether the stop has begun.
func (rt *Runtime) Stopped() bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.stopped
}

// EachSocket calls f with the PID of every live socket actor of kind and
// service (see MetricKey), outside the runtime's lock: for a server that
// visits its connections now and then (tcp's idle sweep), at no cost per
// socket.
func (rt *Runtime) EachSocket(kind, service string, f func(*actor.PID)) {
	key := MetricKey{Kind: kind, Service: service}
	rt.mu.Lock()
	var pids []*actor.PID
	for pid, t := range rt.sockets {
		if t.key == key {
			pids = append(pids, pid)
		}
	}
	rt.mu.Unlock()
	for _, pid := range pids {
		f(pid)
	}
}

// Sockets returns the number of live socket actors, less those a Close
// request has ended (see closing).
func (rt *Runtime) Sockets() int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return len(rt.sockets) - rt.closed
}

// closing tells the runtime that a Close request has ended pid's socket
// and its actor is stopping: Sockets stops counting it before the Close
// is answered, so a caller whose Close returned never sees it counted
// while the actor finishes (on another goroutine, when it was busy).
// The stop still waits for it (live).
func (rt *Runtime) closing(pid *actor.PID) {
	rt.mu.Lock()
	if e, ok := rt.sockets[pid]; ok && !e.closed {
		e.closed = true
		rt.sockets[pid] = e
		rt.closed++
	}
	rt.mu.Unlock()
}

// BeginStop refuses new socket actors from here on and returns the live
// ones, for the caller to stop; Drained is closed once they have all
// stopped. It reports false if the stop had begun already.
func (rt *Runtime) BeginStop() ([]*actor.PID, bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.stopped {
		return nil, false
	}
	rt.stopped = true
	if rt.live == 0 {
		rt.drainedOnce.Do(func() { close(rt.drained) })
	}
	pids := make([]*actor.PID, 0, len(rt.sockets))
	for pid := range rt.sockets {
		pids = append(pids, pid)
	}
	return pids, true
}

// Drained is closed once the stop has begun and every socket actor has
// stopped.
func (rt *Runtime) Drained() <-chan struct{} { return rt.drained }

// Stuck names the socket actors that have not stopped, wrapping cause.
func (rt *Runtime) Stuck(cause error) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var names []string
	for pid, t := range rt.sockets {
		if len(names) == 5 {
			names = append(names, "...")
			break
		}
		names = append(names, fmt.Sprintf("%s %s (%s)", t.key.Kind, t.key.Service, pid.Id))
	}
	sort.Strings(names)
	return fmt.Errorf("%d socket actor(s) did not stop: %s: %w", len(rt.sockets), strings.Join(names, ", "), cause)
}

// StopWatchdog stops the stall watchdog.
func (rt *Runtime) StopWatchdog() { rt.watchdog.stop() }

// StopPollers stops every poller actor (its wait loop, then the actor),
// waiting for each until ctx ends; it returns what did not stop.
func (rt *Runtime) StopPollers(ctx context.Context) []error {
	for _, a := range rt.pollers {
		a.RequestStop() // all at once: the waits below then overlap
	}
	var errs []error
	for _, a := range rt.pollers {
		if err := a.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.Name(), err))
		}
	}
	return errs
}

// StopDispatcher stops the worker pool, waiting until ctx ends for its
// workers.
func (rt *Runtime) StopDispatcher(ctx context.Context) error { return rt.dispatcher.stop(ctx) }
