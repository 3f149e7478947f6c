package actors

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

func TestFutureCompletesOnce(t *testing.T) {
	f := NewFuture[int]()
	if !f.Complete(1, nil) {
		t.Fatal("first Complete reported false")
	}
	if f.Complete(2, errors.New("late")) {
		t.Fatal("second Complete reported true")
	}
	v, err := f.Wait(context.Background())
	if v != 1 || err != nil {
		t.Fatalf("Wait = %d, %v; want 1, nil", v, err)
	}
}

func TestFutureWaitHonoursContext(t *testing.T) {
	f := NewFuture[int]()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := f.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait on a pending future = %v; want context.DeadlineExceeded", err)
	}
	if _, _, ok := f.Result(); ok {
		t.Fatal("future resolved by its waiter's deadline")
	}
	f.Complete(7, nil)
	if v, _ := f.Wait(context.Background()); v != 7 {
		t.Fatalf("Wait after Complete = %d; want 7", v)
	}
}

func TestFutureReply(t *testing.T) {
	tests := []struct {
		name    string
		reply   any
		wantErr error
	}{
		{name: "typed result", reply: &messages.PollResult{Status: stEvent}},
		{name: "failed status", reply: &messages.Status{Code: messages.IOStatus_IO_STATUS_CANCELLED, Op: "poll"}, wantErr: socket.ErrCancelled},
		{name: "error", reply: socket.ErrPolling, wantErr: socket.ErrPolling},
		{name: "wrong type", reply: "hello", wantErr: socket.ErrUnexpectedReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFuture[*messages.PollResult]()
			f.Reply(tt.reply)
			v, err, ok := f.Result()
			if !ok {
				t.Fatal("Reply left the future pending")
			}
			if tt.wantErr == nil && (err != nil || v == nil) {
				t.Fatalf("Result = %v, %v; want the value", v, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Result error = %v; want %v", err, tt.wantErr)
			}
		})
	}
}

// TestFutureConcurrentUse races completers, waiters and callbacks; run
// under -race it checks the future is free of data races.
func TestFutureConcurrentUse(t *testing.T) {
	for i := 0; i < 200; i++ {
		f := NewFuture[int]()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var got []int
		for j := 0; j < 4; j++ {
			wg.Add(3)
			go func() { defer wg.Done(); f.Complete(j, nil) }()
			go func() {
				defer wg.Done()
				v, _ := f.Wait(context.Background())
				mu.Lock()
				got = append(got, v)
				mu.Unlock()
			}()
			go func() {
				defer wg.Done()
				done := make(chan int, 1)
				f.OnComplete(func(v int, _ error) { done <- v })
				v := <-done
				mu.Lock()
				got = append(got, v)
				mu.Unlock()
			}()
		}
		wg.Wait()
		for _, v := range got {
			if v != got[0] {
				t.Fatalf("waiters saw different values: %v", got)
			}
		}
	}
}

func TestFuturePipeTo(t *testing.T) {
	sys := newSystem(t)
	probe := make(chan any, 2)
	pid := sys.Root().Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case int, error:
			probe <- m
		}
	}))
	ok := NewFuture[int]()
	ok.PipeTo(sys.Root(), pid)
	ok.Complete(42, nil)
	failed := NewFuture[int]()
	failed.Complete(0, socket.ErrCancelled)
	failed.PipeTo(sys.Root(), pid) // already resolved: sends at once
	for _, want := range []any{42, socket.ErrCancelled} {
		select {
		case got := <-probe:
			if got != want {
				t.Fatalf("piped %v; want %v", got, want)
			}
		case <-time.After(testTimeout):
			t.Fatal("nothing piped")
		}
	}
}

// pollingActor asks a socket actor for a poll and continues, inside its own
// mailbox, when the answer comes.
type pollingActor struct {
	target *actor.PID
	polls  int
	out    chan string
}

func (a *pollingActor) Receive(ctx actor.Context) {
	if HandleContinuation(ctx) {
		return
	}
	if _, ok := ctx.Message().(string); ok {
		f := Request[*messages.PollResult](ctx, a.target, &messages.Poll{Op: opWrite, TimeoutMs: 1000})
		ReenterAfter(ctx, f, func(res *messages.PollResult, err error) {
			a.polls++ // actor state: safe, this runs as one of its messages
			if err != nil {
				a.out <- err.Error()
				return
			}
			a.out <- res.GetStatus().String()
		})
	}
}

func TestReenterAfter(t *testing.T) {
	sys := newSystem(t)
	sa, _ := pair(t, sys)
	a := &pollingActor{target: sa.PID(), out: make(chan string, 1)}
	pid := sys.Root().Spawn(actor.PropsFromProducer(func() actor.Actor { return a }))
	for i := 1; i <= 3; i++ {
		sys.Root().Send(pid, "go")
		select {
		case got := <-a.out:
			if got != stEvent.String() {
				t.Fatalf("continuation saw %s; want %s", got, stEvent)
			}
		case <-time.After(testTimeout):
			t.Fatal("continuation never ran")
		}
	}
	if err := sys.Root().StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	if a.polls != 3 {
		t.Fatalf("continuations ran %d times; want 3", a.polls)
	}
}

// A Wait whose context ends as the future resolves returns one outcome or
// the other, never hangs, and leaves its pooled channel empty.
func TestFutureWaitRacesComplete(t *testing.T) {
	for i := range 5000 {
		f := NewFuture[int]()
		ctx, cancel := context.WithCancel(context.Background())
		go cancel()
		go f.Complete(i, nil)
		v, err := f.Wait(ctx)
		switch {
		case err == nil && v != i:
			t.Fatalf("Wait = %d, want %d", v, i)
		case err != nil && err != context.Canceled:
			t.Fatalf("Wait error %v", err)
		}
		cancel()
		if w := waiters.Get().(chan struct{}); len(w) != 0 {
			t.Fatalf("a pooled wait channel holds %d tokens", len(w))
		} else {
			waiters.Put(w)
		}
		if v, err := f.Wait(context.Background()); err != nil || v != i {
			t.Fatalf("a second Wait = %d, %v", v, err)
		}
	}
}

// Reusable says a future's memory may be reused only once Complete has
// let go of it: a waiter that reuses the memory as soon as the future
// reads as resolved would race with the rest of Complete (its mutex).
// Each round resolves a future on another goroutine while this one
// waits, sees it reusable and reuses it at once (under -race a reuse that
// comes too early is reported; without it, the mutex it clears while
// held fails the unlock).
func TestFutureReusableOnceCompleteLetGo(t *testing.T) {
	ctx := context.Background()
	f := new(Future[int])
	for i := range 20000 {
		go f.Complete(i, nil)
		if _, err := f.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		for !Reusable(ctx, f) {
			runtime.Gosched() // Complete is finishing
		}
		*f = Future[int]{}
	}
}

// Reusable refuses a future whose wait's context ended (a withdrawal may
// be on its way, naming the request), one still pending, and one of a
// remote request.
func TestFutureReusableRefuses(t *testing.T) {
	ctx := context.Background()
	if f := NewFuture[int](); Reusable(ctx, f) {
		t.Fatal("a pending future is reusable")
	}
	f := NewFuture[int]()
	f.Complete(1, nil)
	if !Reusable(ctx, f) {
		t.Fatal("a resolved local future is not reusable")
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if Reusable(ended, f) {
		t.Fatal("a future waited for within an ended context is reusable")
	}
	r := NewFuture[int]()
	r.remote = &replyProcess{}
	r.Complete(1, nil)
	if Reusable(ctx, r) {
		t.Fatal("a remote request's future is reusable")
	}
}
