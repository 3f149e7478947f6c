package poller

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"
)

// busySender takes each Ready and at once asks for another (Again): an
// owner that always has more to do, keeping the loop busy without a
// single new event.
type busySender struct {
	stop atomic.Bool
	n    atomic.Int64 // Readys taken
}

func (s *busySender) Send(_ *actor.PID, msg interface{}) {
	r := msg.(*Ready)
	s.n.Add(1)
	r.Reg.Consumed(r.Dir)
	if !s.stop.Load() {
		r.Reg.Again(r.Dir)
	}
}

// A loop that always has work (here an owner that asks for another Ready
// each time) still lets the other goroutines of its P run, every 64
// turns: with GOMAXPROCS=1 they would otherwise wait for the runtime to
// preempt it (10 ms, thousands of turns). The test's goroutine is such a
// goroutine: between two of its turns the loop serves a bounded number of
// Readys.
func TestBusyLoopLetsOthersRun(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	be, err := NewEpoll()
	if err != nil {
		t.Fatal(err)
	}
	s := &busySender{}
	p := start(be, s, nil)
	defer p.Stop()
	a, b := socketpair(t)
	r, err := p.Register(a, pid, Readable)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Deregister()
	if _, err := unix.Write(b, []byte{1}); err != nil { // the first Ready; Again makes the rest
		t.Fatal(err)
	}
	var last, maxGap int64
	deadline := time.Now().Add(10 * time.Second)
	for s.n.Load() < 20_000 && time.Now().Before(deadline) {
		n := s.n.Load()
		maxGap = max(maxGap, n-last)
		last = n
		runtime.Gosched()
	}
	s.stop.Store(true)
	if last == 0 {
		t.Fatal("the loop served no Ready")
	}
	if maxGap > 256 {
		t.Fatalf("the loop served %d Readys between two turns of another goroutine on its P; want it to yield every 64", maxGap)
	}
	t.Logf("%d Readys, at most %d between two turns of the test's goroutine", s.n.Load(), maxGap)
}
