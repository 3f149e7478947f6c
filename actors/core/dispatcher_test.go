package core

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

func TestPoolDispatcherReusesWorkers(t *testing.T) {
	d := newPoolDispatcher(10, time.Hour)
	defer func() { _ = d.stop(context.Background()) }()
	var mu sync.Mutex
	seen := 0
	done := make(chan struct{}, 100)
	for i := 0; i < 100; i++ {
		d.Schedule(func() {
			mu.Lock()
			seen++
			mu.Unlock()
			done <- struct{}{}
		})
		<-done // one at a time: an idle worker is always there after the first
	}
	if seen != 100 {
		t.Fatalf("ran %d of 100", seen)
	}
}

func TestPoolDispatcherBlockedWorkerDoesNotBlockOthers(t *testing.T) {
	d := newPoolDispatcher(10, time.Hour)
	defer func() { _ = d.stop(context.Background()) }()
	release := make(chan struct{})
	d.Schedule(func() { <-release }) // holds its worker
	ran := make(chan struct{})
	d.Schedule(func() { close(ran) })
	select {
	case <-ran:
	case <-time.After(testTimeout):
		t.Fatal("a blocked worker blocked the next schedule")
	}
	close(release)
}

func TestPoolDispatcherRunsActors(t *testing.T) {
	sys := newSystem(t)
	got := make(chan string, 1)
	pid := sys.Root().Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if s, ok := ctx.Message().(string); ok {
			got <- s
		}
	}, actor.WithDispatcher(sys.Dispatcher())))
	sys.Root().Send(pid, "hello")
	select {
	case s := <-got:
		if s != "hello" {
			t.Fatal(s)
		}
	case <-time.After(testTimeout):
		t.Fatal("actor on the pool dispatcher never ran")
	}
	if err := sys.Root().StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
}
