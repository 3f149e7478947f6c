package poller

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// This file is the poller actor: the Proto.Actor actor that owns a
// Poller's wait loop. The data path does not go through its mailbox
// (Register, Want and Ready stay direct: see Poller); its mailbox carries
// what concerns the poller as a whole: stats, stop, and the failure of its
// loop, which it turns into a fresh loop, a closed socket for every fd the
// failed loop watched, an event and a failure its supervisor hears of.

// Dropped tells a socket actor that its poller no longer watches its fd:
// the poller's loop failed, or the poller stopped. The actor answers its
// pending requests with Err (a *socket.PollerError naming the poller) and
// closes, as on stop. Like Ready it names an fd, so it is a plain Go
// struct, node-local.
type Dropped struct {
	// Reg is the registration dropped: an actor ignores a Dropped for a
	// registration that is not its current one.
	Reg *Registration
	// Err says why.
	Err error
}

// Actor is a poller actor as its owner sees it: its PID and the wait loop
// that serves new registrations. Spawn one with Spawn; its methods are
// safe for concurrent use.
type Actor struct {
	name    string
	root    *actor.RootContext
	faults  bool
	backend Backend // asked for: every loop opens one (WithBackend)
	pid     atomic.Pointer[actor.PID]

	mu       sync.Mutex
	cur      atomic.Pointer[Poller] // nil once stopped (or while no fresh loop could start)
	base     Stats                  // the counters of loops that have ended
	restarts uint64
	early    error // a failure of the first loop before its PID was known

	done     atomic.Bool // set when the actor stops: it never runs a loop again
	stopped  chan struct{}
	stopOnce sync.Once
}

// loopFailed is what a failed wait loop sends its actor.
type loopFailed struct {
	p   *Poller
	err error
}

// ErrFaultInjected is the failure messages.InjectFault gives a poller's
// wait loop.
var ErrFaultInjected = errors.New("fault injected")

// Strategy is the supervisor strategy a poller actor's parent should use:
// a failed poller is restarted (a fresh loop serves new sockets) up to ten
// times a minute, and stopped after that.
func Strategy() actor.SupervisorStrategy { return strategy }

var strategy = actor.NewOneForOneStrategy(10, time.Minute, func(any) actor.Directive { return actor.RestartDirective })

// Spawn starts a poller (an epoll instance, or the backend WithBackend
// names, and its wait loop) and spawns the actor that owns it, named name,
// from spawner: give spawner a guardian with Strategy to supervise it.
// Ready messages go through spawner. With faults the actor honours
// messages.InjectFault (its loop fails, as if epoll_wait had); otherwise
// it refuses it.
func Spawn(spawner *actor.RootContext, name string, faults bool, opts ...Option) (*Actor, error) {
	a := &Actor{name: name, root: spawner, faults: faults, backend: configure(opts).backend, stopped: make(chan struct{})}
	p, err := openLoop(a.backend, spawner, a.failed)
	if err != nil {
		return nil, err
	}
	a.cur.Store(p)
	pid, err := spawner.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &pollerActor{a: a} }), name)
	if err != nil {
		_ = p.Stop()
		return nil, err
	}
	a.mu.Lock()
	a.pid.Store(pid)
	early := a.early
	a.mu.Unlock()
	if early != nil {
		spawner.Send(pid, &loopFailed{p: p, err: early})
	}
	return a, nil
}

// failed is the loops' onFail: it runs on the failed loop's goroutine and
// tells the actor.
func (a *Actor) failed(p *Poller, err error) {
	a.mu.Lock()
	pid := a.pid.Load()
	if pid == nil {
		a.early = err
	}
	a.mu.Unlock()
	if pid != nil {
		a.root.Send(pid, &loopFailed{p: p, err: err})
	}
}

// PID returns the actor's PID.
func (a *Actor) PID() *actor.PID { return a.pid.Load() }

// Name returns the actor's name, "actornet/poller/0".
func (a *Actor) Name() string { return a.name }

// Backend returns the kernel interface the actor's loops run on: the one
// asked for, or the default one if the kernel refused it.
func (a *Actor) Backend() Backend {
	if p := a.cur.Load(); p != nil {
		return p.Backend()
	}
	return a.backend
}

// Current returns the wait loop serving new registrations: nil once the
// actor has stopped.
func (a *Actor) Current() *Poller { return a.cur.Load() }

// Stats returns the poller's counters, summed over every loop it has run.
func (a *Actor) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.base
	if p := a.cur.Load(); p != nil {
		s.add(p.Stats())
		s.Registrations = p.Len()
	}
	s.Name, s.Restarts = a.name, a.restarts
	return s
}

// RequestStop tells the current wait loop to end, without waiting (see
// Stop); stopping several pollers, tell them all first.
func (a *Actor) RequestStop() {
	if p := a.cur.Load(); p != nil {
		_ = p.RequestStop()
	}
}

// Stop ends the wait loop (waiting for it until ctx ends: see
// Poller.StopContext), then stops the actor and waits until it has
// stopped: a socket still registered is told (Dropped), and actors
// watching the poller get Terminated. It returns what did not end in time.
func (a *Actor) Stop(ctx context.Context) error {
	var err error
	if p := a.cur.Load(); p != nil {
		err = p.StopContext(ctx)
	}
	if pid := a.pid.Load(); pid != nil {
		a.root.Stop(pid)
	}
	select {
	case <-a.stopped:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	return err
}

// Stopped is closed once the actor has stopped.
func (a *Actor) Stopped() <-chan struct{} { return a.stopped }

// retire takes p out of service (its caller has moved its counters to the
// base, in the same step that took it out of cur, so that Stats never
// goes back): every socket registered on it is told why (Dropped), and its
// epoll instance
// is closed once its loop has ended (at once if it has). It returns how
// many sockets were told.
func (a *Actor) retire(p *Poller, why error, wait time.Duration) int {
	_ = p.RequestStop()
	n := p.dropAll(why)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	_ = p.StopContext(ctx) // a loop a socket actor still holds closes it when it ends
	cancel()
	return n
}

// dropAll empties the fd table, takes each fd out of the kernel instance
// and sends each registration's owner a Dropped carrying why. The owner's
// Deregister then finds nothing to do, and its close(2) closes the socket
// at once: an io_uring poll request holds its file until removed (epoll
// needs no removal, but takes one).
func (p *Poller) dropAll(why error) int {
	p.mu.Lock()
	t := *p.table.Load()
	var regs []*Registration
	for i := range t {
		if r := t[i].Swap(nil); r != nil {
			regs = append(regs, r)
		}
	}
	p.live.Add(-int64(len(regs)))
	p.mu.Unlock()
	for _, r := range regs {
		_ = p.be.Remove(r.fd) // a broken instance refuses: its Close ends all
		p.sender.Send(r.pid, &Dropped{Reg: r, Err: why})
	}
	return len(regs)
}

// pollerActor is the actor's behaviour; its state lives in Actor, which
// every incarnation shares (a restart keeps the fresh loop that replaced a
// failed one).
type pollerActor struct{ a *Actor }

func (r *pollerActor) Receive(ctx actor.Context) {
	a := r.a
	switch m := ctx.Message().(type) {
	case *actor.Started:
		if a.done.Load() {
			// A Restart its supervisor sent before the actor stopped
			// (a failure and a stop at once) reached it after: Proto.Actor
			// brings a stopped actor back for it, though no longer
			// registered, so nothing can reach it. Run no loop.
			return
		}
		if a.cur.Load() == nil {
			// Restarted after a failure no fresh loop could replace: try
			// again, and fail again (the supervisor gives up in the end)
			// if it still cannot start.
			p, err := openLoop(a.backend, a.root, a.failed)
			if err != nil {
				panic(&socket.PollerError{Poller: a.name, Reason: "cannot start: " + err.Error()})
			}
			a.mu.Lock()
			a.cur.Store(p)
			a.restarts++
			a.mu.Unlock()
		}
	case *loopFailed:
		a.replace(ctx, m.p, m.err)
	case *messages.GetPollerStats:
		ctx.Respond(a.Stats().Proto())
	case *messages.InjectFault:
		if !a.faults {
			ctx.Respond(messages.Rejection(m, messages.IOStatus_IO_STATUS_INVALID_ARGUMENT))
			return
		}
		p := a.cur.Load()
		if p == nil {
			ctx.Respond(&messages.Status{Code: messages.IOStatus_IO_STATUS_CLOSED, Op: "injectfault"})
			return
		}
		p.InjectFailure(ErrFaultInjected)
		ctx.Respond(&messages.Status{Op: "injectfault"})
	case *actor.Stopping:
		a.done.Store(true)
		a.mu.Lock()
		p := a.cur.Swap(nil)
		if p != nil {
			a.base.add(p.Stats())
		}
		a.mu.Unlock()
		if p != nil {
			a.retire(p, &socket.PollerError{Poller: a.name, Reason: "stopped"}, 100*time.Millisecond)
		}
	case *actor.Stopped:
		a.stopOnce.Do(func() { close(a.stopped) })
	}
}

// replace handles the failure of loop p: a fresh loop takes over new
// registrations first (so that no new socket meets a dead poller), then
// every socket p watched is told and closes, the failure is logged and
// published (messages.PollerFailed), and the actor fails so that its
// supervisor counts it (restart, or stop after too many).
func (a *Actor) replace(ctx actor.Context, p *Poller, err error) {
	if a.cur.Load() != p {
		return // a loop already replaced or retired
	}
	fresh, ferr := openLoop(a.backend, a.root, a.failed)
	a.mu.Lock()
	a.base.add(p.Stats()) // final: its loop has ended
	a.cur.Store(fresh)    // nil if it could not start: Started tries again
	if fresh != nil {
		a.restarts++
	}
	a.mu.Unlock()
	cause := &socket.PollerError{Poller: a.name, Reason: "failed: " + err.Error()}
	n := a.retire(p, cause, time.Second)
	ctx.Logger().Error("actornet: a poller's wait loop failed; the sockets it watched are closed, a fresh loop serves new ones",
		"poller", a.name, "error", err, "sockets", n, "fresh", ferr == nil)
	ctx.ActorSystem().EventStream.Publish(&messages.PollerFailed{Poller: a.name, Error: err.Error(), Sockets: uint32(n)})
	panic(cause)
}
