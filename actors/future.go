package actors

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// Future is the read side of a one-shot result of type T. It costs no
// timer, and a channel only once someone waits for it while it is
// pending: deadlines belong to the request (the actor arms a
// timer only for a request that has one) or to the context a caller waits
// with. All methods are safe for concurrent use.
//
// The future of a socket command resolves with the command's result
// message (a *messages.RecvResult, a *messages.Status...), whatever the
// outcome: a timeout, a closed socket or a refused argument is in its
// status (res.GetStatus().Err()), as the actor answered it; Wait's error
// is for a request that got no answer (ctx ended, the actor is gone). The
// handles' blocking forms fold both into one error.
type Future[T any] struct {
	state atomic.Uint32 // futurePending, futureCompleting, futureDone, futureSettled
	val   T
	err   error

	mu     sync.Mutex    // guards done, waiter, conts and the futureDone transition
	done   chan struct{} // made by the first Done while pending
	waiter chan struct{} // a Wait's, from waiters: told by a send, not a close
	conts  []func(T, error)

	// remote is the reply process of a request to another node.
	remote *replyProcess
	// call is the Call a local Request sends: part of the future, so a
	// request allocates one object less.
	call core.Call
}

const (
	futurePending uint32 = iota
	futureCompleting
	futureDone
	// futureSettled: resolved, and Complete touches the future no more
	// (Reusable).
	futureSettled
)

var _ core.Replier = (*Future[*messages.Status])(nil)

// NewFuture returns a pending future.
func NewFuture[T any]() *Future[T] {
	return &Future[T]{}
}

// Complete resolves the future. It reports false, and changes nothing, if
// the future was already resolved.
func (f *Future[T]) Complete(v T, err error) bool {
	if !f.state.CompareAndSwap(futurePending, futureCompleting) {
		return false
	}
	f.val, f.err = v, err
	f.mu.Lock()
	f.state.Store(futureDone)
	conts, done, waiter := f.conts, f.done, f.waiter
	f.conts, f.waiter = nil, nil
	f.mu.Unlock()
	// What is left uses the locals only: whoever holds the future's memory
	// may reuse it from here on.
	f.state.Store(futureSettled)
	if done != nil {
		close(done)
	}
	if waiter != nil {
		waiter <- struct{}{} // its room of one is free: never blocks
	}
	for _, c := range conts {
		c(v, err)
	}
	return true
}

// Reply resolves the future with an actor's answer: a T, a *messages.Status
// carrying a failure, or an error. Anything else resolves it with
// socket.ErrUnexpectedReply.
func (f *Future[T]) Reply(result any) {
	if v, ok := result.(T); ok {
		f.Complete(v, nil)
		return
	}
	var zero T
	switch r := result.(type) {
	case *messages.Status:
		f.Complete(zero, r.Err())
	case error:
		f.Complete(zero, r)
	default:
		f.Complete(zero, &socket.OpError{Op: "reply", Err: fmt.Errorf("%w: %T", socket.ErrUnexpectedReply, result)})
	}
}

// Reusable reports whether the memory of f, a future of a request waited
// for within ctx, may be reused for another request (a pool of requests
// that hold their future, as tcp.Client's blocking calls keep): f was
// resolved and Complete touches it no more (it may still be waking
// waiters and running continuations, with its own copies of them), the
// request went to an actor in this process (a remote answer passes
// through more hands), and ctx never ended (Await then sends a withdrawal
// naming the request, which may still be on its way to the actor when
// the answer comes). The caller must also know that no one else waits
// on f or holds its value or the result, which may live in the same
// memory, and that the actor will not answer the request again.
func Reusable[T any](ctx context.Context, f *Future[T]) bool {
	return f.state.Load() == futureSettled && f.remote == nil && ctx.Err() == nil
}

// Done is closed once the future is resolved.
func (f *Future[T]) Done() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done == nil {
		f.done = make(chan struct{})
		if f.resolved() {
			close(f.done)
		}
	}
	return f.done
}

// resolved reports whether the future is resolved; its val and err are
// then set for good.
func (f *Future[T]) resolved() bool { return f.state.Load() >= futureDone }

// Wait blocks until the future resolves or ctx ends; then it returns
// ctx.Err() (the future stays pending and can be waited on again).
// Never call Wait inside an actor's Receive: use PipeTo or ReenterAfter.
func (f *Future[T]) Wait(ctx context.Context) (T, error) {
	if f.resolved() {
		return f.val, f.err
	}
	// One waiter (a blocking call's) waits on a pooled channel that
	// Complete sends to; any other waits on Done's.
	w := waiters.Get().(chan struct{})
	f.mu.Lock()
	switch {
	case f.resolved():
		f.mu.Unlock()
		waiters.Put(w)
		return f.val, f.err
	case f.waiter != nil:
		f.mu.Unlock()
		waiters.Put(w)
		select {
		case <-f.Done():
			return f.val, f.err
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
	f.waiter = w
	f.mu.Unlock()
	cancel := ctx.Done()
	if cancel == nil { // a context that never ends: a plain receive, no select
		<-w
		waiters.Put(w)
		return f.val, f.err
	}
	select {
	case <-w:
		waiters.Put(w)
		return f.val, f.err
	case <-cancel:
	}
	f.mu.Lock()
	if f.waiter == w { // still pending: take the channel back
		f.waiter = nil
		f.mu.Unlock()
		waiters.Put(w)
		var zero T
		return zero, ctx.Err()
	}
	f.mu.Unlock()
	<-w // Complete took it: its send comes at once
	waiters.Put(w)
	return f.val, f.err
}

// waiters are the channels of single waits, each with room for the one
// send that resolves it; empty whenever pooled.
var waiters = sync.Pool{New: func() any { return make(chan struct{}, 1) }}

// Result returns the outcome without blocking; ok is false while pending.
func (f *Future[T]) Result() (v T, err error, ok bool) {
	if f.resolved() {
		return f.val, f.err, true
	}
	var zero T
	return zero, nil, false
}

// OnComplete runs fn with the outcome once the future resolves: at once,
// on the calling goroutine, if it already has; otherwise on the goroutine
// that resolves it. fn must not block.
func (f *Future[T]) OnComplete(fn func(T, error)) {
	f.mu.Lock()
	if f.resolved() {
		f.mu.Unlock()
		fn(f.val, f.err)
		return
	}
	f.conts = append(f.conts, fn)
	f.mu.Unlock()
}

// Sender sends a message to a PID: *actor.RootContext, or an actor.Context.
type Sender interface {
	Send(pid *actor.PID, message interface{})
}

// PipeTo sends the outcome to pid once resolved: the T on success, the
// error otherwise. It never blocks the caller.
func (f *Future[T]) PipeTo(s Sender, pid *actor.PID) {
	f.OnComplete(func(v T, err error) {
		if err != nil {
			s.Send(pid, err)
			return
		}
		s.Send(pid, v)
	})
}

// continuation is the message ReenterAfter sends an actor to itself.
type continuation struct{ run func() }

// ReenterAfter runs cont inside ctx's actor, as one of its messages, once f
// resolves, so cont may touch the actor's state without locks and the
// mailbox never blocks. The actor must pass its messages through
// HandleContinuation first.
func ReenterAfter[T any](ctx actor.Context, f *Future[T], cont func(T, error)) {
	self, sys := ctx.Self(), ctx.ActorSystem()
	f.OnComplete(func(v T, err error) {
		sys.Root.Send(self, &continuation{run: func() { cont(v, err) }})
	})
}

// HandleContinuation runs the continuation that ReenterAfter queued, if the
// current message is one, and reports whether it was. Call it first in
// Receive of an actor that uses ReenterAfter.
func HandleContinuation(ctx actor.Context) bool {
	c, ok := ctx.Message().(*continuation)
	if ok {
		c.run()
	}
	return ok
}
