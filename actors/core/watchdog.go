package core

// The stall watchdog: socket actors run on their poller's goroutine, so a
// push-mode handler that blocks (a Future.Wait, blocking I/O, a long
// computation) holds every other socket of that poller. Handlers known to
// block say so (tcp.WithBlockingHandlers); the watchdog catches the others.

import (
	"bytes"
	"runtime"
	"strconv"
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
// between one and one and a half budgets after it began (up to four
// budgets more when its goroutine waits for the runtime: starvedGrace). The data path
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
	dump    []byte // waitsForCPU's buffer
}

type busySample struct {
	reg     *poller.Registration
	count   uint64
	repeats int // later samples that saw the same delivery
	moved   bool
	waited  int // samples that found the loop waiting for a CPU (starved)
}

// starvedGrace is how many samples more a delivery whose goroutine waits
// for a CPU (runnable: preempted on a saturated machine, its turn to come)
// gets before it counts as a stall all the same: the wall clock a handler
// held its poller for is then the scheduler's, not the handler's. A
// handler that computes for ever with one P is always runnable when the
// watchdog looks (the watchdog has the P then), so the grace ends.
// Measured: examples/echo -size 16777216 (ten clients and their server in
// one process, both cores saturated) was reported stalled in about one
// run in four; in 13 such reports the loop's goroutine was runnable in 12,
// and in semacquire in the 13th, its handler's allocation waiting for a
// GC cycle to start. With the grace: none in 30 runs.
const starvedGrace = 8

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
			if prev.waited < starvedGrace && waitsForCPU(p.LoopGoroutine(), &w.dump) {
				prev.waited++
				continue
			}
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

// waitsForCPU reports whether goroutine id waits for the runtime, not for
// anything its code waits on: runnable (ready, its turn to come), in the
// GC's assist queue, or on a semaphore of the runtime's own (a
// stop-the-world or the start of a GC cycle, that an allocation waits
// for) rather than a file's lock (internal/poll; sync's primitives have
// states of their own). It reads every goroutine's stack (runtime.Stack,
// which stops the world for it), so the watchdog asks only of a delivery
// it is about to take for a stall; buf is kept for the next time.
func waitsForCPU(id uint64, buf *[]byte) bool {
	if id == 0 {
		return false
	}
	if len(*buf) == 0 {
		*buf = make([]byte, 1<<20)
	}
	for {
		n := runtime.Stack(*buf, true)
		if n < len(*buf) {
			return waitsForRuntime(goroutineState((*buf)[:n], id))
		}
		if len(*buf) >= 64<<20 {
			return false // too many goroutines to look: a stall, as before
		}
		*buf = make([]byte, 2*len(*buf))
	}
}

// waitsForRuntime reports whether a goroutine in state with stack waits
// for the runtime (waitsForCPU).
func waitsForRuntime(state string, stack []byte) bool {
	switch state {
	case "runnable", "GC assist wait":
		return true
	case "semacquire":
		return !bytes.Contains(stack, []byte("internal/poll."))
	}
	return false
}

// goroutineState is the state the stack dump gives goroutine id ("running",
// "chan receive", "runnable", ...; without the minutes blocked) and its
// stack; "" if the dump has no such goroutine.
func goroutineState(dump []byte, id uint64) (state string, stack []byte) {
	head := []byte("goroutine " + strconv.FormatUint(id, 10) + " [")
	for len(dump) > 0 {
		if rest, ok := bytes.CutPrefix(dump, head); ok {
			st, _, _ := bytes.Cut(rest, []byte("]"))
			st, _, _ = bytes.Cut(st, []byte(","))
			_, stack, _ = bytes.Cut(rest, []byte("\n"))
			stack, _, _ = bytes.Cut(stack, []byte("\n\n"))
			return string(st), stack
		}
		_, next, ok := bytes.Cut(dump, []byte("\n\ngoroutine "))
		if !ok {
			return "", nil
		}
		dump = dump[len(dump)-len(next)-len("goroutine "):]
	}
	return "", nil
}
