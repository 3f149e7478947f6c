package test

import (
	"context"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/test/testkit"
)

// TestSlowConsumerBoundedMemory: a client offers 1 GiB to a push-mode
// handler that takes its time over every Received before granting the
// next credit. The server reads only under credit, so the process heap
// stays bounded (sampled through the transfer), and every byte arrives.
func TestSlowConsumerBoundedMemory(t *testing.T) {
	const offered = 1 << 30
	sys := testkit.System(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var delivered, received atomic.Int64
	done := make(chan struct{})
	slow := actor.PropsFromFunc(func(ctx actor.Context) {
		if m, ok := ctx.Message().(*messages.Received); ok {
			if received.Add(1)%64 == 0 {
				work(time.Millisecond) // the slow work the consumer does, now and then
			}
			if delivered.Add(int64(len(m.GetData()))) == offered {
				close(done)
			}
			ctx.Send(ctx.Parent(), &messages.ResumeReading{Credit: 1})
		}
	}, actor.WithDispatcher(sys.Dispatcher()))
	l, err := tcp.Serve(ctx, sys, "127.0.0.1:0", slow, tcp.WithReadSize(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		chunk := make([]byte, 1<<20)
		for sent := 0; sent < offered; sent += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	var peak uint64
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		case <-tick.C: // sampling the heap while the transfer runs
		case <-ctx.Done():
			t.Fatalf("%d of %d bytes delivered in time", delivered.Load(), offered)
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapAlloc)
	}
	growth := int64(peak) - int64(base.HeapAlloc)
	t.Logf("1 GiB offered and delivered; heap peak %d MiB above the start", growth>>20)
	if growth > 64<<20 {
		t.Fatalf("heap grew by %d MiB while 1 GiB was offered to a slow consumer", growth>>20)
	}
}

// work keeps the processor busy for d: a consumer slow because it computes.
func work(d time.Duration) {
	sum := 0
	for start := time.Now(); time.Since(start) < d; {
		for i := range 1000 {
			sum += i
		}
	}
	_ = sum
}
