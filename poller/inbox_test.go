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
