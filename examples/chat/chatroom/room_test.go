package chatroom

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/test/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// probe is a member stand-in: an actor that hands what it gets to the
// test.
type probe struct {
	pid *actor.PID
	got chan any
}

func newProbe(t *testing.T, as *actor.ActorSystem) *probe {
	t.Helper()
	p := &probe{got: make(chan any, 64)}
	p.pid = as.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *Relay, *Acked, *Left:
			p.got <- m
		}
	}))
	t.Cleanup(func() { _ = as.Root.StopFuture(p.pid).Wait() })
	return p
}

func (p *probe) ref() *messages.Ref { return messages.NewRef(p.pid) }

// next returns what the probe got next, failing after a second.
func (p *probe) next(t *testing.T) any {
	t.Helper()
	select {
	case m := <-p.got:
		return m
	case <-time.After(time.Second):
		t.Fatal("nothing came")
		return nil
	}
}

// relay returns the next relayed line (skipping notices).
func (p *probe) relay(t *testing.T) *Relay {
	t.Helper()
	for {
		if r, ok := p.next(t).(*Relay); ok && r.GetSeq() != 0 {
			return r
		}
	}
}

// quiet fails if the probe gets anything but notices before the room has
// handled everything sent to it so far: a member joins and leaves, and
// the probe must hear of it first (the room's messages to one member
// keep their order).
func (p *probe) quiet(t *testing.T, as *actor.ActorSystem, room *actor.PID) {
	t.Helper()
	x := newProbe(t, as)
	as.Root.Send(room, &Join{Member: x.ref(), Name: "barrier"})
	as.Root.Send(room, &Leave{Member: x.ref()})
	for {
		m := p.next(t)
		r, ok := m.(*Relay)
		if !ok || r.GetSeq() != 0 {
			t.Fatalf("got %v; want nothing yet", m)
		}
		if r.GetLine() == "* barrier left" {
			return
		}
	}
}

// acked returns the next Acked's seq, skipping notices.
func (p *probe) acked(t *testing.T) uint64 {
	t.Helper()
	for {
		switch m := p.next(t).(type) {
		case *Acked:
			return m.GetSeq()
		case *Relay:
			if m.GetSeq() != 0 {
				t.Fatalf("relay %v; want Acked", m)
			}
		default:
			t.Fatalf("got %v; want Acked", m)
		}
	}
}

func newSystem(t *testing.T) *actor.ActorSystem {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	as := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
	t.Cleanup(as.Shutdown)
	return as
}

// TestRoomAcksOnceEveryMemberHasALine: the room acknowledges a line to
// its speaker only once every seated member has written it.
func TestRoomAcksOnceEveryMemberHasALine(t *testing.T) {
	as := newSystem(t)
	room := as.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return newRoom() }))
	a, b := newProbe(t, as), newProbe(t, as)
	as.Root.Send(room, &Join{Member: a.ref(), Name: "a"})
	as.Root.Send(room, &Join{Member: b.ref(), Name: "b"})
	as.Root.Send(room, &Say{Member: a.ref(), Seq: 1, Line: "a: hi"})
	ra, rb := a.relay(t), b.relay(t)
	if ra.GetLine() != "a: hi" || ra.GetOrigin() != key(a.ref()) || ra.GetOriginSeq() != 1 || rb.GetSeq() != ra.GetSeq() {
		t.Fatalf("relays %v, %v", ra, rb)
	}
	as.Root.Send(room, &Delivered{Member: a.ref(), Seq: ra.GetSeq()})
	a.quiet(t, as, room) // b has not written it yet
	as.Root.Send(room, &Delivered{Member: b.ref(), Seq: rb.GetSeq()})
	if seq := a.acked(t); seq != 1 {
		t.Fatalf("Acked %d, want 1", seq)
	}
}

// TestRoomSeatsKnownMembersOnRejoin: a new activation seats at once the
// members a rejoining member knew, so it acknowledges nothing before
// they have it, though they have not rejoined yet; a known member that
// is gone (its PID answers no more) leaves by the watch, and what only
// it lacked is acknowledged.
func TestRoomSeatsKnownMembersOnRejoin(t *testing.T) {
	as := newSystem(t)
	room := as.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return newRoom() }))
	a, b, gone := newProbe(t, as), newProbe(t, as), newProbe(t, as)
	as.Root.Send(room, &Join{Member: a.ref(), Name: "a", Rejoin: true, Known: []*Seat{
		{Member: a.ref(), Name: "a"}, {Member: b.ref(), Name: "b"},
	}})
	as.Root.Send(room, &Say{Member: a.ref(), Seq: 7, Line: "a: again"})
	ra, rb := a.relay(t), b.relay(t) // b is seated: it gets the line before it rejoins
	as.Root.Send(room, &Delivered{Member: a.ref(), Seq: ra.GetSeq()})
	a.quiet(t, as, room)
	as.Root.Send(room, &Join{Member: b.ref(), Name: "b", Rejoin: true})
	as.Root.Send(room, &Delivered{Member: b.ref(), Seq: rb.GetSeq()})
	if seq := a.acked(t); seq != 7 {
		t.Fatalf("Acked %d, want 7", seq)
	}

	// A known member whose connection is gone.
	as.Root.Send(room, &Join{Member: b.ref(), Name: "b", Rejoin: true, Known: []*Seat{{Member: gone.ref(), Name: "gone"}}})
	as.Root.Send(room, &Say{Member: b.ref(), Seq: 1, Line: "b: anyone?"})
	ra, rb = a.relay(t), b.relay(t)
	as.Root.Send(room, &Delivered{Member: a.ref(), Seq: ra.GetSeq()})
	as.Root.Send(room, &Delivered{Member: b.ref(), Seq: rb.GetSeq()})
	b.quiet(t, as, room) // the gone member is seated and has not written it
	if err := as.Root.StopFuture(gone.pid).Wait(); err != nil {
		t.Fatal(err)
	}
	if seq := b.acked(t); seq != 1 {
		t.Fatalf("Acked %d, want 1", seq)
	}
}

// TestRoomLeaveConfirmed: a member that leaves with confirm gets Left
// after the relays of what it said before.
func TestRoomLeaveConfirmed(t *testing.T) {
	as := newSystem(t)
	room := as.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return newRoom() }))
	a := newProbe(t, as)
	as.Root.Send(room, &Join{Member: a.ref(), Name: "a"})
	as.Root.Send(room, &Say{Member: a.ref(), Seq: 1, Line: "a: bye"})
	as.Root.Send(room, &Leave{Member: a.ref(), Confirm: true})
	if r := a.relay(t); r.GetLine() != "a: bye" {
		t.Fatalf("relay %v", r)
	}
	for {
		switch m := a.next(t).(type) {
		case *Left:
			return
		case *Relay:
			if m.GetSeq() != 0 {
				t.Fatalf("relay %v after the line", m)
			}
		}
	}
}
