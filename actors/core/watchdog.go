package core

// The stall watchdog: socket actors run on their poller's goroutine, so a
// push-mode handler that blocks (a Future.Wait, blocking I/O, a long
// computation) holds every other socket of that poller. Handlers known to
// block say so (tcp.WithBlockingHandlers); the watchdog catches the others.

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/poller"
)

// DefaultStallBudget is how long one readiness delivery may hold a
// poller's goroutine before the watchdog moves the actor off the poller.
const DefaultStallBudget = 50 * time.Millisecond

// Stalled is published (as *Stalled) on the actor system's event stream
// when a socket actor has held its poller's goroutine for longer than the stall budget
// on one readiness (its handler blocks). The poller hands its wait loop
// to a new goroutine, so its other sockets are served again at once, and
// leaves the blocked call the old one; from its next message on, the
// actor runs on the system's worker pool. The actor's Stalls counter
// (Metrics, OpenTelemetry) counts it.
type Stalled struct {
	Poller int
	Socket *actor.PID
	Kind   string
	// Service is the local address of the listener the socket belongs to.
	Service string
	// After is the stall budget it overran (the stall lasts at least that).
	After time.Duration
}

// watchdog samples every poller each half budget: a poller seen
// delivering the same Ready, with no delivery since, at three samples in a
// row has held one actor for at least a budget, so a stall is caught
// between one and one and a half budgets after it began. The data path
// pays two atomic stores per delivery (poller.Busy); an idle system, one
// timer every half budget.
type watchdog struct {
	rt      *Runtime
	every   time.Duration // half the budget
	budget  time.Duration
	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
	last    []busySample
}

type busySample struct {
	reg     *poller.Registration
	count   uint64
	repeats int // later samples that saw the same delivery
	moved   bool
}

func startWatchdog(rt *Runtime, every time.Duration) *watchdog {
	w := &watchdog{rt: rt, every: every / 2, budget: every, last: make([]busySample, len(rt.pollers))}
	if every <= 0 {
		w.stopped = true
		return w
	}
	w.mu.Lock()
	w.timer = time.AfterFunc(w.every, w.check)
	w.mu.Unlock()
	return w
}

func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	if w.timer != nil {
		w.timer.Stop()
	}
}

func (w *watchdog) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	for i, a := range w.rt.pollers {
		p := a.Current()
		if p == nil {
			continue
		}
		reg, n := p.Busy()
		prev := &w.last[i]
		if reg == nil || reg != prev.reg || n != prev.count {
			*prev = busySample{reg: reg, count: n}
			continue
		}
		if prev.repeats++; prev.repeats >= 2 && !prev.moved {
			prev.moved = true
			if w.rt.stalled(i, reg.PID(), w.budget) {
				p.Handoff() // a new loop serves the poller's other sockets meanwhile
			}
		}
	}
	w.timer.Reset(w.every)
}

// stalled moves the actor at pid to the worker pool, counts it and says
// so; it reports false for an actor that runs no user code (a listener's
// long accept burst is not a stall).
func (rt *Runtime) stalled(pollerIndex int, pid *actor.PID, budget time.Duration) bool {
	rt.mu.Lock()
	t, ok := rt.sockets[pid]
	rt.mu.Unlock()
	if !ok || t.core.mb == nil || !t.core.handlers {
		return false
	}
	t.core.counts.Stalls.Add(1)
	t.core.mb.runOn(rt.dispatcher)
	rt.as.Logger().Error("actornet: a socket actor blocked its poller; it runs on the worker pool from now on (a blocking push-mode handler? use WithBlockingHandlers)",
		"pid", pid.String(), "kind", t.key.Kind, "service", t.key.Service, "budget", budget)
	rt.as.EventStream.Publish(&Stalled{Poller: pollerIndex, Socket: pid, Kind: t.key.Kind, Service: t.key.Service, After: budget})
	return true
}
