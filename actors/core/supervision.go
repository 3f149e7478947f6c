package core

import (
	"context"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// StoppingDecider stops a failed child, whatever the failure: the decider
// for socket actors, whose fd cannot be rebuilt by a restart.
func StoppingDecider(any) actor.Directive { return actor.StopDirective }

// stoppingStrategy is shared so all root-spawned socket actors share one
// guardian.
var stoppingStrategy = actor.NewOneForOneStrategy(0, time.Second, StoppingDecider)

// StoppingStrategy returns the supervisor strategy that stops failed
// children. Parents of socket actors use it; socket actors spawned from the
// root get it as their guardian. A socket actor also closes itself if a
// parent restarts it anyway, so the invariant "stop, never restart" holds
// under any strategy.
func StoppingStrategy() actor.SupervisorStrategy { return stoppingStrategy }

// StopWait tells a Stop caller that an actor has stopped: the actor calls
// Close from its *actor.Stopped; the caller Waits with its context, and
// leaves nothing waiting behind it when the context ends first (as
// StopFuture(pid).Wait, with its own timeout, would).
type StopWait struct {
	ch   chan struct{}
	once sync.Once
}

// NewStopWait returns an open StopWait.
func NewStopWait() *StopWait { return &StopWait{ch: make(chan struct{})} }

// Close marks the actor stopped; it is idempotent.
func (w *StopWait) Close() { w.once.Do(func() { close(w.ch) }) }

// Wait waits until Close or ctx ends, and returns ctx's error in the
// second case.
func (w *StopWait) Wait(ctx context.Context) error {
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		select {
		case <-w.ch:
			return nil
		default:
		}
		return ctx.Err()
	}
}

// FirstError keeps the first error of a sequence: have if there is one,
// else err. Options record with it the first invalid value they meet.
func FirstError(have, err error) error {
	if have != nil {
		return have
	}
	return err
}
