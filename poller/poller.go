package poller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// The loop below names no kernel interface: backend.go says what it needs,
// epoll_linux.go and kqueue_bsd.go provide it.

// idleYields is how many times the loop yields the processor, polling
// without blocking in between, before it blocks in the kernel's wait
// (epoll_wait, kevent). Measured on
// one core (actors.BenchmarkReadinessDelivery, taskset -c 0): 0 yields
// starves the woken goroutines (~96 µs a round trip), 1 yield ~8 µs,
// 2 yields ~3.8 µs, more yields no better.
const idleYields = 2

// epoch is the origin of the loop's clock: time.Since(epoch) reads the
// monotonic clock alone, half the cost of time.Now (see go.dev/issue/67401).
var epoch = time.Now()

// Direction is the readiness a Ready message reports.
type Direction uint8

const (
	// Readable: data, end of stream, a pending connection or an error.
	Readable Direction = iota
	// Writable: send space, a finished connect or an error.
	Writable
)

// String returns "readable" or "writable".
func (d Direction) String() string {
	if d == Writable {
		return "writable"
	}
	return "readable"
}

// Ready is the readiness message the poller sends to a socket actor. Each
// Registration owns one Ready per direction and sends that same pointer
// every time, so delivery allocates nothing; at most one per direction is
// in flight. Ready is node-local by nature (it names an fd), so unlike the
// command messages it is a plain Go struct, not protobuf.
type Ready struct {
	// Dir is the direction that became ready.
	Dir Direction
	// Reg is the registration the event is for. A socket actor must ignore a
	// Ready whose Reg is not its current registration.
	Reg *Registration
}

// Sender delivers a message to a PID; *actor.RootContext is one.
type Sender interface {
	Send(pid *actor.PID, message interface{})
}

// ErrStopped is returned by Register on a stopped poller.
var ErrStopped = errors.New("poller stopped")

// Poller is the poller actor: one goroutine that blocks in the kernel's
// wait (epoll_wait, kevent) and sends Ready messages straight to the socket
// actor that owns each fd. It has no mailbox: its inputs are kernel events
// and the thread-safe Register/Deregister calls (epoll_ctl and kevent are
// thread-safe), so a socket actor never waits on the poller.
type Poller struct {
	// recv: the backend receives for RegisterRecv registrations (RecvEnv);
	// send: it sends for owners that ask (SendEnv).
	recv, send bool
	be         backend
	kind       Backend // what be is
	sender     Sender

	mu    sync.Mutex // serialises table growth and slot writes
	table atomic.Pointer[[]atomic.Pointer[Registration]]
	gen   atomic.Uint32
	live  atomic.Int64

	stopping atomic.Bool
	done     chan struct{}

	// busy is the registration whose Ready the loop is delivering (the
	// owner runs on the loop's goroutine), nil between deliveries; with
	// delivered, the count of Ready sent, it lets a watchdog see a
	// delivery that does not return (Busy).
	busy      atomic.Pointer[Registration]
	delivered [2]atomic.Uint64 // per Direction
	// loopG is the goroutine of the newest wait loop (LoopGoroutine).
	loopG atomic.Uint64
	// handoffAfter is the package's handoffAfter when the poller started.
	handoffAfter time.Duration
	// parker is the backend, when it can park its waits (sleep.go).
	parker parkBackend
	// wakeups, blocking, polls, released (blocking waits made without a
	// P: sleep) and longest (ns) are the loop's counters (Stats).
	wakeups, blocking, polls, released atomic.Uint64
	longest                            atomic.Int64
	// worked is the work the owners said the events of the loop's last
	// batch brought beyond one unit an event (Registration.Worked).
	worked atomic.Int64
	// fault, once set (InjectFailure), is what the next wait returns; failed is the error the loop ended with (nil while it runs
	// or once it stopped cleanly); onFail hears of it.
	fault  atomic.Pointer[error]
	failed atomic.Pointer[error]
	onFail func(*Poller, error)
	// loopGen is the generation of the current wait loop; a loop whose
	// generation is behind has been replaced (Handoff) and ends.
	loopGen  atomic.Uint64
	batch    atomic.Pointer[batch] // the current loop's batch
	handoffs atomic.Uint64
	doneOnce sync.Once
	// closeLater: Stop gave up waiting; the loop closes the kernel
	// instance when it ends.
	closeLater atomic.Bool
	closeOnce  sync.Once

	// again holds the Ready messages owners asked for with Again; the loop
	// delivers them after its batch (spare is the other half of a double
	// buffer, so that redelivery allocates nothing). hasAgain says again
	// is not empty; sleeping, that a loop is about to block in the wait
	// and needs a Wake to see it.
	againMu  sync.Mutex
	again    []againReq
	spare    []againReq
	hasAgain atomic.Bool
	sleeping atomic.Bool
}

// againReq is one Ready asked for with Again.
type againReq struct {
	r *Registration
	d Direction
}

// Busy returns the registration whose owner the loop is running now (nil
// if none) and how many Ready messages the loop has delivered. Two calls
// apart in time that return the same registration and the same count saw
// one delivery last that long: its owner is blocking the poller.
func (p *Poller) Busy() (*Registration, uint64) {
	return p.busy.Load(), p.delivered[Readable].Load() + p.delivered[Writable].Load()
}

// LoopGoroutine returns the id the runtime's stack dumps give the
// goroutine of the poller's newest wait loop (the one a Busy delivery
// runs on until a Handoff): for a watchdog that looks at its state.
func (p *Poller) LoopGoroutine() uint64 { return p.loopG.Load() }

// goroutineID is the calling goroutine's id, from the first line of its
// stack dump ("goroutine 7 [running]:"); 0 if that cannot be read.
func goroutineID() uint64 {
	var b [64]byte
	line := b[:runtime.Stack(b[:], false)]
	line, ok := bytes.CutPrefix(line, []byte("goroutine "))
	if !ok {
		return 0
	}
	id, _, _ := bytes.Cut(line, []byte(" "))
	n, err := strconv.ParseUint(string(id), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// PID returns the actor the registration delivers to.
func (r *Registration) PID() *actor.PID { return r.pid }

// New starts a poller on its own kernel instance (epoll on Linux unless
// WithBackend asks for io_uring, kqueue on macOS and FreeBSD), sending
// Ready messages through sender.
func New(sender Sender, opts ...Option) (*Poller, error) {
	return openLoop(configure(opts).backend, sender, nil)
}

// openLoop is New with onFail called (from the loop's goroutine) if the
// wait loop fails.
func openLoop(kind Backend, sender Sender, onFail func(*Poller, error)) (*Poller, error) {
	be, kind, err := openBackend(kind)
	if err != nil {
		return nil, err
	}
	p := start(be, sender, onFail)
	p.kind = kind
	return p, nil
}

// Backend returns the kernel interface the poller runs on: the one asked
// for, or the default one if the kernel refused it.
func (p *Poller) Backend() Backend { return p.kind }

func start(be backend, sender Sender, onFail func(*Poller, error)) *Poller {
	p := &Poller{be: be, sender: sender, done: make(chan struct{}), onFail: onFail, recv: recvEnabled(),
		handoffAfter: handoffAfter}
	if rb, ok := be.(recvBackend); ok {
		rb.setRecvSink(p)
	}
	p.parker, _ = be.(parkBackend)
	if sb, ok := be.(sendBackend); ok && sendEnabled() {
		p.send = true
		sb.setSendSink(p.pushSend)
	}
	t := make([]atomic.Pointer[Registration], 64)
	p.table.Store(&t)
	go p.loop(0, nil)
	return p
}

// Len returns the number of live registrations.
func (p *Poller) Len() int { return int(p.live.Load()) }

// Register starts watching fd for the actor pid, edge-triggered, for input,
// output and peer hang-up. Ready messages flow only for the directions the
// actor asked for with Want, or named in want: those are wanted from the
// start, so the fd's state when it is added (data already waiting, send
// space) is reported at once.
func (p *Poller) Register(fd int, pid *actor.PID, want ...Direction) (*Registration, error) {
	return p.register(fd, pid, 0, want)
}

// register is Register, and RegisterRecv with a receive limit (buffers).
func (p *Poller) register(fd int, pid *actor.PID, recvLimit int, want []Direction) (*Registration, error) {
	if fd < 0 {
		return nil, errors.New("poller: register: negative fd")
	}
	if p.stopping.Load() {
		return nil, ErrStopped
	}
	r := &Registration{p: p, fd: fd, gen: p.gen.Add(1), pid: pid}
	r.msgs[Readable] = Ready{Dir: Readable, Reg: r}
	r.msgs[Writable] = Ready{Dir: Writable, Reg: r}
	r.tx.on = p.send
	r.tx.res.Store(txIdle)
	for _, d := range want {
		r.want[d].Store(true)
	}

	p.mu.Lock()
	if p.stopping.Load() {
		// Checked again under the lock dropAll takes: a registration is
		// either refused here or dropped there, never left on a dead loop.
		p.mu.Unlock()
		return nil, ErrStopped
	}
	t := *p.table.Load()
	if fd >= len(t) {
		n := len(t)
		for n <= fd {
			n *= 2
		}
		nt := make([]atomic.Pointer[Registration], n)
		for i := range t {
			nt[i].Store(t[i].Load())
		}
		p.table.Store(&nt)
		t = nt
	}
	t[fd].Store(r)
	p.mu.Unlock()

	token := uint64(uint32(fd)) | uint64(r.gen)<<32
	var err error
	if rb, ok := p.be.(recvBackend); ok && recvLimit > 0 && p.recv {
		// The queue is in place before the receive is armed: its first
		// completion may come before AddRecv returns.
		r.rx = &rxQueue{rb: rb, limit: recvLimit}
		var recv bool
		if recv, err = rb.AddRecv(fd, watched, token, recvBytes(recvLimit)); err == nil && !recv {
			r.rx = nil // no buffer ring: readiness, as Register
		}
	} else {
		err = p.be.Add(fd, watched, token)
	}
	if err != nil {
		p.clear(r)
		return nil, err
	}
	p.live.Add(1)
	return r, nil
}

func (p *Poller) clear(r *Registration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := *p.table.Load()
	return t[r.fd].CompareAndSwap(r, nil)
}

func (p *Poller) lookup(token uint64) *Registration {
	fd, gen := int(uint32(token)), uint32(token>>32)
	t := *p.table.Load()
	if fd >= len(t) {
		return nil
	}
	r := t[fd].Load()
	if r == nil || r.gen != gen {
		return nil
	}
	return r
}

// Stop ends the wait loop, waits for it, and closes the kernel instance.
// Registrations still open are dropped (their owners close their fds).
func (p *Poller) Stop() error { return p.StopContext(context.Background()) }

// StopContext is Stop that waits for the loop only until ctx ends: a loop
// held by a socket actor that blocks (and not yet handed off) may not
// return. Then the kernel instance is closed by the loop itself when it
// ends, and the error says the loop is still running.
func (p *Poller) StopContext(ctx context.Context) error {
	if err := p.RequestStop(); err != nil {
		return err
	}
	select {
	case <-p.done:
		return p.closeBackend()
	case <-ctx.Done():
		select {
		case <-p.done:
			return p.closeBackend()
		default:
		}
		p.closeLater.Store(true)
		select {
		case <-p.done: // it ended meanwhile: close it here after all
			if p.closeLater.CompareAndSwap(true, false) {
				return p.closeBackend()
			}
		default:
		}
		return fmt.Errorf("wait loop still running (a socket actor holds it): %w", ctx.Err())
	}
}

// closeBackend closes the kernel instance, once.
func (p *Poller) closeBackend() error {
	var err error
	p.closeOnce.Do(func() { err = p.be.Close() })
	return err
}

// RequestStop tells the wait loop to end, without waiting for it (see
// StopContext); stopping several pollers, tell them all first.
func (p *Poller) RequestStop() error {
	if p.stopping.Swap(true) {
		return nil
	}
	return p.wake()
}

// wake wakes the wait loop (the backend's wake-up event).
func (p *Poller) wake() error {
	p.wakeups.Add(1)
	return p.be.Wake()
}

// closeDone ends the current loop's life: Stop learns of it, and the loop
// closes the kernel instance itself if Stop stopped waiting.
func (p *Poller) closeDone() {
	p.doneOnce.Do(func() { close(p.done) })
	if p.closeLater.CompareAndSwap(true, false) {
		_ = p.closeBackend()
	}
}

// batch is the events of one wait. Loops claim them one at a time,
// so that a loop started by Handoff finishes the batch its blocked
// predecessor was in: no edge is lost when a loop is replaced. A stale
// claim at worst sends a spurious Ready, which owners tolerate (at most
// one is in flight per direction, and a read or write that meets EAGAIN
// waits for the next edge).
type batch struct {
	events []event
	n      atomic.Int64
	next   atomic.Int64
}

func (p *Poller) loop(gen uint64, inherited *batch) {
	defer func() {
		if r := recover(); r != nil {
			p.fail(gen, fmt.Errorf("wait loop panicked: %v", r))
		}
	}()
	p.loopG.Store(goroutineID())
	if inherited != nil {
		p.drain(inherited)
	}
	b := &batch{events: make([]event, 128)}
	timeout, yielded := -1, 0
	// A loop started by Handoff goes on counting from its predecessor's.
	blocking, polls := p.blocking.Load(), p.polls.Load()
	var slept sleepState // the recent blocking waits (sleep)
	for {
		if p.loopGen.Load() != gen {
			return // replaced by Handoff while this loop was blocked
		}
		if p.stopping.Load() {
			p.closeDone()
			return
		}
		block := timeout != 0
		if block {
			// About to block: an Again from now on wakes the loop, and one
			// made before is served at once.
			p.sleeping.Store(true)
			if p.hasAgain.Load() {
				timeout = 0
			}
		}
		// The wait counts are the loop's own, published when it is about
		// to sleep (idle: the atomic stores cost nothing then) and every
		// 64 polls, so that a busy loop pays no atomic per turn for them.
		// A loop that never runs out of work (peers that never pause, an
		// owner that keeps asking Again) also yields its P every 64 polls:
		// the goroutines its Readys woke, and any others queued on its P,
		// would otherwise wait for the runtime to preempt it, 10 ms later
		// (with GOMAXPROCS=1, everything else in the program).
		if timeout != 0 {
			blocking++
			p.blocking.Store(blocking)
			p.polls.Store(polls)
		} else if polls++; polls&63 == 0 {
			p.polls.Store(polls)
			runtime.Gosched()
		}
		n, err := p.sleep(b.events, timeout, &slept)
		if block {
			p.sleeping.Store(false)
			// A parked wait whose first poll found events was a poll:
			// a loop busy at every one of them yields its P every 64
			// (above), or the goroutines its Readys woke wait for the
			// runtime's preemption.
			if slept.hit {
				if polls++; polls&63 == 0 {
					p.polls.Store(polls)
					runtime.Gosched()
				}
			}
		}
		if f := p.fault.Load(); f != nil && err == nil {
			err = *f
		}
		if err != nil && !p.stopping.Load() {
			p.fail(gen, err)
			return
		}
		if err != nil || p.stopping.Load() {
			if p.loopGen.Load() == gen {
				p.closeDone()
			}
			return
		}
		var start time.Duration
		if n > 0 {
			start = time.Since(epoch)
			b.n.Store(int64(n))
			b.next.Store(0)
			p.batch.Store(b)
			p.drain(b)
			// What owners said the events held (sleep.go's work).
			slept.addWork(int(p.worked.Swap(0)))
		}
		again := p.redeliver(gen)
		if n > 0 {
			if d := int64(time.Since(epoch) - start); d > p.longest.Load() {
				p.longest.Store(d)
			}
		}
		if again || n > 0 {
			timeout, yielded = 0, 0
			// A wait that parks polls first (the parker must: arming
			// the runtime's wait forgets a wake-up that came before), so
			// a loop whose next wait parks goes to it at once: a poll of
			// its own first would be one epoll_wait more per wake-up.
			if !again && p.parksNext(&slept) && !p.yieldsFirst(&slept) {
				timeout = -1
			}
			continue
		}
		// Nothing ready: yield so goroutines woken by the last batch run
		// (and perhaps make more I/O), then look again before blocking.
		// Blocking at once starves the scheduler when GOMAXPROCS is small.
		// A wait that parks yields the processor itself: the yields
		// before it would be polls for nothing.
		if timeout == 0 && yielded < idleYields && !p.parksNext(&slept) {
			runtime.Gosched()
			yielded++
			continue
		}
		timeout, yielded = -1, 0
	}
}

// fail ends the poller after its wait loop failed with err: Register
// refuses from here on, the loop's life ends, and onFail hears of it
// (once). A loop already replaced by Handoff fails nothing.
func (p *Poller) fail(gen uint64, err error) {
	if p.loopGen.Load() != gen {
		return
	}
	if !p.failed.CompareAndSwap(nil, &err) {
		return
	}
	p.stopping.Store(true)
	p.closeDone()
	if p.onFail != nil {
		p.onFail(p, err)
	}
}

// Failed returns the error the wait loop failed with: nil while it runs
// and after a clean stop.
func (p *Poller) Failed() error {
	if e := p.failed.Load(); e != nil {
		return *e
	}
	return nil
}

// InjectFailure makes the wait loop fail with err at its next turn, as if
// the kernel's wait had returned it: for tests of what a poller's failure does.
func (p *Poller) InjectFailure(err error) {
	p.fault.Store(&err)
	_ = p.wake()
}

// redeliver sends the Ready messages asked for with Again since the last
// time, and reports whether there were any. A loop replaced by Handoff
// leaves them to its successor.
func (p *Poller) redeliver(gen uint64) bool {
	if !p.hasAgain.Load() || p.loopGen.Load() != gen {
		return false
	}
	p.againMu.Lock()
	list := p.again
	p.again, p.spare = p.spare[:0], nil
	p.hasAgain.Store(false)
	p.againMu.Unlock()
	for i := range list {
		list[i].r.notify(list[i].d)
		list[i] = againReq{}
	}
	p.againMu.Lock()
	if p.spare == nil {
		p.spare = list[:0]
	}
	p.againMu.Unlock()
	return len(list) > 0
}

// drain delivers the unclaimed events of b.
func (p *Poller) drain(b *batch) {
	n := b.n.Load()
	for {
		i := b.next.Add(1) - 1
		if i >= n {
			return
		}
		ev := &b.events[i]
		token := tokenOf(ev)
		if token == wakeToken {
			// Once stopping, the wake-up stays pending, so that every
			// loop in the wait sees the stop: epoll's eventfd stays
			// readable (it is level triggered) unless reset; kqueue's
			// EVFILT_USER is consumed by the loop that takes it
			// (EV_CLEAR), so that loop raises it again.
			if !p.stopping.Load() {
				p.be.ResetWake()
			} else if wakeConsumed {
				_ = p.be.Wake()
			}
			continue
		}
		if r := p.lookup(token); r != nil {
			r.dispatch(ev)
		}
	}
}

// Handoff starts a new wait loop and retires the current one, which is
// blocked delivering a Ready (its owner blocks: see Busy): the new loop
// finishes that batch and serves every other fd, and the old goroutine
// ends when the blocked delivery returns. The owner that blocked should
// be moved off the poller first, or it captures the new loop too.
func (p *Poller) Handoff() {
	if p.stopping.Load() {
		return
	}
	gen := p.loopGen.Add(1)
	p.handoffs.Add(1)
	go p.loop(gen, p.batch.Load())
}

// Handoffs returns how many times the loop was replaced by Handoff.
func (p *Poller) Handoffs() uint64 { return p.handoffs.Load() }
