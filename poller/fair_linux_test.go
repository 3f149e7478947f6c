package poller

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

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

// pingSender drains its socket at each Ready and writes a byte back into
// it from the other end: a new event for every poll of the loop (a busy
// server). It makes raw system calls, as socket actors do (the runtime's
// monitor does not take the P during them).
type pingSender struct {
	a, b int
	stop atomic.Bool
	n    atomic.Int64 // Readys taken
}

func (s *pingSender) Send(_ *actor.PID, msg interface{}) {
	r := msg.(*Ready)
	var buf [64]byte
	for {
		n, _, errno := unix.RawSyscall(unix.SYS_READ, uintptr(s.a), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		if errno != 0 || int(n) <= 0 {
			break
		}
	}
	r.Reg.Consumed(r.Dir)
	s.n.Add(1)
	if !s.stop.Load() {
		one := [1]byte{1}
		unix.RawSyscall(unix.SYS_WRITE, uintptr(s.b), uintptr(unsafe.Pointer(&one[0])), 1)
	}
}

type countingSender interface {
	Sender
	taken() int64
	halt()
}

func (s *busySender) taken() int64 { return s.n.Load() }
func (s *busySender) halt()        { s.stop.Store(true) }
func (s *pingSender) taken() int64 { return s.n.Load() }
func (s *pingSender) halt()        { s.stop.Store(true) }

// A loop that always has work (an owner that asks for another Ready each
// time; one that makes a new event each time, on a loop whose waits park)
// still lets the other goroutines of its P run, every 64 turns: with
// GOMAXPROCS=1 they would otherwise wait for the runtime to preempt it
// (10 ms, thousands of turns). The test's goroutine is such a goroutine:
// between two of its turns the loop serves a bounded number of Readys.
func TestBusyLoopLetsOthersRun(t *testing.T) {
	t.Run("again", func(t *testing.T) { busyLoopLetsOthersRun(t, &busySender{}, nil) })
	t.Run("parked", func(t *testing.T) {
		withHandoffAfter(t, 0) // every blocking wait parks
		a, b := socketpair(t)
		busyLoopLetsOthersRun(t, &pingSender{a: a, b: b}, []int{a, b})
	})
}

// busyLoopLetsOthersRun runs the test with s as the owner, on the socket
// pair ab (nil: one of its own).
func busyLoopLetsOthersRun(t *testing.T, s countingSender, ab []int) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	be, err := NewEpoll()
	if err != nil {
		t.Fatal(err)
	}
	p := start(be, s, nil)
	defer p.Stop()
	if ab == nil {
		a, b := socketpair(t)
		ab = []int{a, b}
	}
	a, b := ab[0], ab[1]
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
	for s.taken() < 20_000 && time.Now().Before(deadline) {
		n := s.taken()
		maxGap = max(maxGap, n-last)
		last = n
		runtime.Gosched()
	}
	s.halt()
	if last == 0 {
		t.Fatal("the loop served no Ready")
	}
	if maxGap > 256 {
		t.Fatalf("the loop served %d Readys between two turns of another goroutine on its P; want it to yield every 64", maxGap)
	}
	t.Logf("%d Readys, at most %d between two turns of the test's goroutine", s.taken(), maxGap)
}
