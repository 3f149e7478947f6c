package core

import (
	"net"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// The first tests drive a Queue on a bare core from the test goroutine,
// which plays the actor: every step is deterministic. The last ones run
// a Queue inside a socket actor, through readiness, timers, withdrawals
// and close.

// answers records what a request was answered, in order.
type answers struct{ got []any }

func (r *answers) Reply(v any) { r.got = append(r.got, v) }

// counter counts its answers, allocating nothing.
type counter struct{ n int }

func (c *counter) Reply(any) { c.n++ }

// answered is an unserved request's end, as the queue's answer saw it.
type answered struct {
	req int
	err error
}

// testQueue is a queue of ints on a bare core; serve answers the head
// with its number while ready is true.
type testQueue struct {
	q        *Queue[int]
	ready    bool
	served   []int
	deadline chan *deadline // the deadlines the core's timers sent
}

func newTestQueue(t *testing.T) *testQueue {
	t.Helper()
	sys := newSystem(t)
	tq := &testQueue{deadline: make(chan *deadline, 8)}
	self := sys.Root().Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if d, ok := ctx.Message().(*deadline); ok {
			tq.deadline <- d
		}
	}))
	c := newCore(sys, nil)
	c.self = self
	tq.q = NewQueue(c, func(req *int, reply Replier, err error) {
		reply.Reply(answered{req: *req, err: err})
	})
	tq.q.WaitsFor(poller.Readable, func() {
		for tq.ready && tq.q.Len() > 0 {
			n := *tq.q.Head()
			tq.served = append(tq.served, n)
			tq.q.Reply(n)
		}
	})
	return tq
}

func TestQueueServesInOrder(t *testing.T) {
	tq := newTestQueue(t)
	r := &answers{}
	for i := range 3 {
		if !tq.q.Push(i, r, 0) {
			t.Fatalf("Push(%d) refused", i)
		}
	}
	if tq.q.Len() != 3 || !tq.q.wants(poller.Readable) || tq.q.wants(poller.Writable) {
		t.Fatalf("Len = %d, wants readable %v, writable %v; want 3 waiting for readable only",
			tq.q.Len(), tq.q.wants(poller.Readable), tq.q.wants(poller.Writable))
	}
	tq.ready = true
	tq.q.ready(poller.Readable)
	if len(r.got) != 3 || r.got[0] != 0 || r.got[1] != 1 || r.got[2] != 2 {
		t.Fatalf("answers %v; want 0 1 2", r.got)
	}
	if tq.q.Len() != 0 || tq.q.Head() != nil || tq.q.wants(poller.Readable) {
		t.Fatalf("Len = %d after serving all, still wanting readable: %v", tq.q.Len(), tq.q.wants(poller.Readable))
	}
	tq.q.ready(poller.Writable) // not its direction: nothing to do
}

func TestQueueServesAtOnceWithoutTimer(t *testing.T) {
	tq := newTestQueue(t)
	tq.ready = true
	tq.served = make([]int, 0, 200)
	n := &counter{}
	// A request served as it arrives pays for no timer and no entry.
	allocs := testing.AllocsPerRun(100, func() { tq.q.Push(7, n, time.Hour) })
	if allocs != 0 || n.n != 101 {
		t.Errorf("Push served at once: %v allocations, %d answers; want 0 (no timer), 101", allocs, n.n)
	}
	tq.ready = false
	r := &answers{}
	tq.q.Push(8, r, 0)
	if tq.q.items[tq.q.head].timer != nil {
		t.Error("a request without a timeout got a timer")
	}
	tq.q.Push(9, r, time.Hour)
	if tq.q.items[tq.q.head+1].timer == nil {
		t.Error("a pending request with a timeout has no timer")
	}
	tq.q.FailAll(net.ErrClosed)
}

func TestQueueDeadline(t *testing.T) {
	tq := newTestQueue(t)
	r := &answers{}
	tq.q.Push(1, r, time.Millisecond)
	tq.q.Push(2, r, 0)
	var d *deadline
	select {
	case d = <-tq.deadline:
	case <-time.After(testTimeout):
		t.Fatal("the request's timer sent no deadline")
	}
	if d.q != pendingQueue(tq.q) {
		t.Fatal("the deadline does not name the queue that holds the request")
	}
	tq.ready = true // the next request is served as soon as the head ends
	if !tq.q.expire(d.id) {
		t.Fatal("expire: the request is not found")
	}
	want := []any{answered{req: 1, err: socket.ErrTimeout}, 2}
	if len(r.got) != 2 || r.got[0] != want[0] || r.got[1] != want[1] {
		t.Fatalf("answers %v; want %v", r.got, want)
	}
	if tq.q.expire(d.id) {
		t.Error("a second expire of the same request found it again")
	}
}

func TestQueueWithdraw(t *testing.T) {
	tq := newTestQueue(t)
	rs := [3]*answers{{}, {}, {}}
	for i, r := range rs {
		tq.q.Push(i, r, time.Hour)
	}
	if !tq.q.withdraw(rs[1]) {
		t.Fatal("withdraw of the middle request: not found")
	}
	if len(rs[1].got) != 1 || rs[1].got[0] != (answered{req: 1, err: socket.ErrCancelled}) {
		t.Fatalf("withdrawn request answered %v; want cancelled", rs[1].got)
	}
	if tq.q.withdraw(&answers{}) {
		t.Error("withdraw of a replier that is not pending found one")
	}
	tq.ready = true
	tq.q.withdraw(rs[0]) // the head: the next one is served at once
	if len(rs[0].got) != 1 || rs[0].got[0] != (answered{req: 0, err: socket.ErrCancelled}) {
		t.Fatalf("withdrawn head answered %v; want cancelled", rs[0].got)
	}
	if len(rs[2].got) != 1 || rs[2].got[0] != 2 {
		t.Fatalf("the request behind the withdrawn head got %v; want served", rs[2].got)
	}
}

func TestQueueBound(t *testing.T) {
	tq := newTestQueue(t)
	r := &answers{}
	for i := range MaxPending {
		if !tq.q.Push(i, r, 0) {
			t.Fatalf("Push %d refused below the bound", i)
		}
	}
	over := &answers{}
	if tq.q.Push(-1, over, time.Hour) {
		t.Fatal("Push beyond MaxPending accepted")
	}
	if len(over.got) != 1 || over.got[0] != (answered{req: -1, err: socket.ErrTooManyPending}) {
		t.Fatalf("refused request answered %v; want ErrTooManyPending", over.got)
	}
	tq.ready = true
	tq.q.ready(poller.Readable)
	if len(r.got) != MaxPending || tq.q.Len() != 0 {
		t.Fatalf("served %d of %d", len(r.got), MaxPending)
	}
	if tq.q.items != nil {
		t.Errorf("an emptied queue keeps an array of %d entries", cap(tq.q.items))
	}
}

// A queue reuses its array: after the head moves on, pushing compacts
// instead of growing.
func TestQueueCompacts(t *testing.T) {
	tq := newTestQueue(t)
	r := &answers{}
	for i := range 4 {
		tq.q.Push(i, r, 0)
	}
	c := cap(tq.q.items)
	for round := range 100 {
		tq.ready = true
		tq.served = tq.served[:0]
		tq.q.serve() // serves all four
		tq.ready = false
		for i := range 4 {
			tq.q.Push(round*4+i, r, 0)
		}
		tq.q.Reply(-1) // the head moves on
		tq.q.Push(-2, r, 0)
	}
	if cap(tq.q.items) != c {
		t.Errorf("capacity grew from %d to %d", c, cap(tq.q.items))
	}
}

func TestQueueFailAll(t *testing.T) {
	tq := newTestQueue(t)
	r := &answers{}
	for i := range 3 {
		tq.q.Push(i, r, time.Hour)
	}
	tq.q.FailAll(net.ErrClosed)
	for i, v := range r.got {
		if v != (answered{req: i, err: net.ErrClosed}) {
			t.Errorf("answer %d = %v; want closed", i, v)
		}
	}
	if len(r.got) != 3 || tq.q.Len() != 0 {
		t.Fatalf("%d answers, %d left", len(r.got), tq.q.Len())
	}
}
