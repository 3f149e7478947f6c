package poller

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// chanInbox is an Inbox that records what the loop posts to it.
type chanInbox chan interface{}

func (c chanInbox) PostUserMessage(msg interface{}) { c <- msg }

// TestDeliverTo checks that a registration given an Inbox has its Ready
// messages posted there, not sent through the poller's Sender, and that
// each one is the registration's own Ready for the direction.
func TestDeliverTo(t *testing.T) { eachBackend(t, testDeliverTo) }

func testDeliverTo(t *testing.T, kind Backend) {
	p, ch := newPoller(t, kind)
	a, b := socketpair(t)
	r, err := p.Register(a, pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Deregister() })
	box := make(chanInbox, 8)
	var in Inbox = box
	r.DeliverTo(&in)
	for round := range 2 { // the second Ready comes only after Consumed
		r.Want(Readable)
		write(t, b)
		select {
		case m := <-box:
			got, ok := m.(*Ready)
			if !ok || got.Reg != r || got.Dir != Readable {
				t.Fatalf("round %d: inbox got %#v; want the registration's readable Ready", round, m)
			}
		case got := <-ch:
			t.Fatalf("round %d: Ready %+v went through the Sender, not the Inbox", round, got)
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: no Ready delivered", round)
		}
		var buf [8]byte
		_, _ = unix.Read(a, buf[:])
		r.Consumed(Readable)
	}
	select {
	case got := <-ch:
		t.Fatalf("the Sender got %+v; every Ready should go to the Inbox", got)
	default:
	}
}

// workInbox handles each Ready as an owner that read work units on it
// would: it reads the fd, says so (Registration.Worked) and takes the
// Ready.
type workInbox struct {
	r    **Registration
	fd   int
	work int
	done chan struct{}
}

func (w workInbox) PostUserMessage(msg interface{}) {
	if _, ok := msg.(*Ready); !ok {
		return
	}
	var buf [8]byte
	_, _ = unix.Read(w.fd, buf[:])
	(*w.r).Worked(w.work)
	(*w.r).Consumed(Readable)
	w.done <- struct{}{}
}

// TestWorkedCountsInTheLoopsWaits: one event whose owner says it brought
// many units of work (a datagram socket's batch) makes the loop yield its
// core before its next blocking wait, as many events would (sleep.go's
// yieldFirst), whichever wait or poll brought the event.
func TestWorkedCountsInTheLoopsWaits(t *testing.T) { eachBackend(t, testWorkedCounts) }

func testWorkedCounts(t *testing.T, kind Backend) {
	yields := make(chan struct{}, 1)
	saved := yieldCore
	t.Cleanup(func() { yieldCore = saved }) // after the poller stops (cleanups run last first)
	yieldCore = func() {
		select {
		case yields <- struct{}{}:
		default:
		}
	}
	p, _ := newPoller(t, kind)
	if _, ok := p.be.(handoffBackend); !ok {
		t.Skipf("%v: its waits keep the P and never yield first", kind)
	}
	a, b := socketpair(t)
	r, err := p.Register(a, pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Deregister() })
	done := make(chan struct{}, 1)
	var in Inbox = workInbox{r: &r, fd: a, work: 8 * busyMin, done: done}
	r.DeliverTo(&in)
	r.Want(Readable)
	write(t, b)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("no Ready delivered")
	}
	select {
	case <-yields:
	case <-time.After(5 * time.Second):
		t.Fatalf("one event said to bring %d units of work: the loop blocked again without yielding first", 8*busyMin)
	}
}
