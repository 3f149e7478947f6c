package actors

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// poolDispatcher runs mailboxes on long-lived worker goroutines instead of
// a new goroutine per schedule (Proto.Actor's default). A worker keeps its
// grown stack, so a handler that calls into inline socket actors (which
// write to the socket on the handler's goroutine) does not pay for stack
// growth on every message; idle workers exit after a while, and all of
// them when the system stops. A handler that blocks holds only its worker:
// Schedule starts another when none is idle.
type poolDispatcher struct {
	throughput int
	work       chan func()
	quit       chan struct{}
	wg         sync.WaitGroup
	idle       time.Duration
}

var _ actor.Dispatcher = (*poolDispatcher)(nil)

func newPoolDispatcher(throughput int, idle time.Duration) *poolDispatcher {
	return &poolDispatcher{throughput: throughput, work: make(chan func()), quit: make(chan struct{}), idle: idle}
}

// Schedule hands fn to an idle worker, or starts one.
func (d *poolDispatcher) Schedule(fn func()) {
	select {
	case d.work <- fn:
	default:
		d.wg.Add(1)
		go d.worker(fn)
	}
}

// Throughput is the number of messages a mailbox runs before it yields.
func (d *poolDispatcher) Throughput() int { return d.throughput }

func (d *poolDispatcher) worker(fn func()) {
	defer d.wg.Done()
	t := time.NewTimer(d.idle)
	defer t.Stop()
	for {
		fn()
		t.Reset(d.idle)
		select {
		case fn = <-d.work:
		case <-t.C:
			return
		case <-d.quit:
			return
		}
	}
}

// stop ends the idle workers and waits for them; a worker still running a
// mailbox ends when it finishes.
func (d *poolDispatcher) stop() {
	close(d.quit)
	d.wg.Wait()
}
