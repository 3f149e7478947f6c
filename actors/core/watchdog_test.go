package core

import (
	"bytes"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// TestWaitsForCPU: the watchdog tells a goroutine that waits for a CPU
// (runnable) from one that is blocked or running. With one P the test's
// goroutine runs and the other, which only yields, waits for its turn.
func TestWaitsForCPU(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var buf []byte
	ids := make(chan uint64)
	var stop atomic.Bool
	block := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		ids <- selfID()
		for !stop.Load() {
			runtime.Gosched()
		}
		<-block
	}()
	id := <-ids
	runtime.Gosched() // it loops, yielding
	if !waitsForCPU(id, &buf) {
		t.Fatalf("a goroutine that yields (%q) was not found waiting for a CPU", state(dump(&buf), id))
	}
	stop.Store(true)
	deadline := time.Now().Add(5 * time.Second)
	for state(dump(&buf), id) != "chan receive" {
		if time.Now().After(deadline) {
			t.Fatalf("the goroutine never blocked: %q", state(dump(&buf), id))
		}
		runtime.Gosched()
	}
	if waitsForCPU(id, &buf) {
		t.Fatal("a goroutine blocked on a channel was taken for one waiting for a CPU")
	}
	if waitsForCPU(selfID(), &buf) {
		t.Fatal("the running goroutine was taken for one waiting for a CPU")
	}
	if waitsForCPU(0, &buf) || waitsForCPU(1<<40, &buf) {
		t.Fatal("an unknown goroutine was taken for one waiting for a CPU")
	}
	close(block)
	<-done
}

// TestGoroutineState reads states from a dump, with and without the time
// a goroutine has waited.
func TestGoroutineState(t *testing.T) {
	d := []byte("goroutine 1 [running]:\nmain.main()\n\ngoroutine 17 [chan receive, 3 minutes]:\nx()\n\ngoroutine 170 [runnable]:\ny()\n")
	for id, want := range map[uint64]string{1: "running", 17: "chan receive", 170: "runnable", 7: "", 1700: ""} {
		if got := state(d, id); got != want {
			t.Errorf("goroutineState(%d) = %q, want %q", id, got, want)
		}
	}
	if _, stack := goroutineState(d, 17); string(stack) != "x()" {
		t.Errorf("goroutineState(17)'s stack = %q", stack)
	}
}

func state(dump []byte, id uint64) string {
	s, _ := goroutineState(dump, id)
	return s
}

func dump(buf *[]byte) []byte {
	*buf = make([]byte, 1<<20)
	return (*buf)[:runtime.Stack(*buf, true)]
}

func selfID() uint64 {
	var b [64]byte
	f := bytes.Fields(b[:runtime.Stack(b[:], false)])
	id, _ := strconv.ParseUint(string(f[1]), 10, 64)
	return id
}

// TestWaitsForRuntime: a semaphore wait is the runtime's (a GC cycle's
// start, a stop-the-world, that an allocation waits for) unless it is a
// file's lock.
func TestWaitsForRuntime(t *testing.T) {
	for _, c := range []struct {
		state, stack string
		want         bool
	}{
		{"runnable", "x()", true},
		{"GC assist wait", "x()", true},
		{"semacquire", "github.com/actornet/actornet/tcp.(*connActor).ownCopy(...)\n\t/x.go:1", true},
		{"semacquire", "internal/poll.(*fdMutex).rwlock(0x1?)\n\t/fd_mutex.go:154\ninternal/poll.(*FD).readLock(...)", false},
		{"chan receive", "x()", false},
		{"running", "x()", false},
		{"sync.Mutex.Lock", "x()", false},
		{"", "", false},
	} {
		if got := waitsForRuntime(c.state, []byte(c.stack)); got != c.want {
			t.Errorf("waitsForRuntime(%q, %q) = %v, want %v", c.state, c.stack, got, c.want)
		}
	}
}
