package core

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// testTimeout bounds every wait in these tests; reaching it is a failure.
const testTimeout = 10 * time.Second

// newSystem returns a runtime on a fresh actor system, stopped (its socket
// actors, pollers, pool and actor system) at cleanup.
func newSystem(t testing.TB) *Runtime {
	t.Helper()
	as := actor.NewActorSystem()
	rt, err := NewRuntime(as, Config{Pollers: 1})
	if err != nil {
		t.Fatalf("NewRuntime: %v", err)
	}
	t.Cleanup(func() {
		pids, _ := rt.BeginStop()
		for _, pid := range pids {
			as.Root.Stop(pid)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		select {
		case <-rt.Drained():
		case <-ctx.Done():
			t.Errorf("stop: %v", rt.Stuck(ctx.Err()))
		}
		rt.StopWatchdog()
		for _, err := range rt.StopPollers(ctx) {
			t.Errorf("stop: %v", err)
		}
		if err := rt.StopDispatcher(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		as.Shutdown()
	})
	return rt
}
