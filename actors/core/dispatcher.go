package core

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
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
	idle       time.Duration
	running    atomic.Int64 // workers alive
	stopping   atomic.Bool
	gone       chan struct{} // closed once stopping and no worker is left
	goneOnce   sync.Once
}

var _ actor.Dispatcher = (*poolDispatcher)(nil)

func newPoolDispatcher(throughput int, idle time.Duration) *poolDispatcher {
	return &poolDispatcher{throughput: throughput, work: make(chan func()), quit: make(chan struct{}), idle: idle, gone: make(chan struct{})}
}

// Schedule hands fn to an idle worker, or starts one.
func (d *poolDispatcher) Schedule(fn func()) {
	select {
	case d.work <- fn:
	default:
		d.running.Add(1)
		go d.worker(fn)
	}
}

// Throughput is the number of messages a mailbox runs before it yields.
func (d *poolDispatcher) Throughput() int { return d.throughput }

func (d *poolDispatcher) worker(fn func()) {
	defer func() {
		if d.running.Add(-1) == 0 && d.stopping.Load() {
			d.goneOnce.Do(func() { close(d.gone) })
		}
	}()
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

// stop ends the idle workers and waits for them until ctx ends; a worker
// still running a mailbox (a handler that blocks) ends when it finishes.
// It reports the workers still running when ctx ended.
func (d *poolDispatcher) stop(ctx context.Context) error {
	d.stopping.Store(true)
	close(d.quit)
	if d.running.Load() == 0 {
		d.goneOnce.Do(func() { close(d.gone) })
	}
	select {
	case <-d.gone:
		return nil
	case <-ctx.Done():
		select {
		case <-d.gone: // both ready: what happened matters, not the clock
			return nil
		default:
		}
		return fmt.Errorf("%d worker(s) still running a handler that blocks: %w", d.running.Load(), ctx.Err())
	}
}
