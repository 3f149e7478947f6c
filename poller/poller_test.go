package poller

import (
	"runtime"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"
)

// chanSender records every message the poller sends.
type chanSender chan *Ready

func (c chanSender) Send(_ *actor.PID, msg interface{}) { c <- msg.(*Ready) }

func newPoller(t *testing.T, kind Backend) (*Poller, chanSender) {
	t.Helper()
	ch := make(chanSender, 64)
	p, err := New(ch, WithBackend(kind))
	if err != nil {
		t.Fatal(err)
	}
	if p.Backend() != kind {
		t.Fatalf("poller asked for %v runs on %v", kind, p.Backend())
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Error(err)
		}
	})
	return p, ch
}

func recv(t *testing.T, ch chanSender) *Ready {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no Ready delivered")
		return nil
	}
}

func write(t *testing.T, fd int) {
	t.Helper()
	if _, err := unix.Write(fd, []byte{1}); err != nil {
		t.Fatal(err)
	}
}

var pid = actor.NewPID("test", "owner")

func TestReadyDelivered(t *testing.T) { eachBackend(t, testReadyDelivered) }

func testReadyDelivered(t *testing.T, kind Backend) {
	p, ch := newPoller(t, kind)
	a, b := socketpair(t)
	r, err := p.Register(a, pid)
	if err != nil {
		t.Fatal(err)
	}
	r.Want(Readable)
	write(t, b)
	got := recv(t, ch)
	if got.Reg != r || got.Dir != Readable {
		t.Fatalf("Ready = %+v; want readable for the registration", got)
	}
	if p.Len() != 1 {
		t.Fatalf("Len = %d; want 1", p.Len())
	}
	if err := r.Deregister(); err != nil {
		t.Fatal(err)
	}
	if p.Len() != 0 {
		t.Fatalf("Len after Deregister = %d; want 0", p.Len())
	}
}

// TestOneReadyInFlight: edges that arrive while a Ready is unconsumed send
// nothing; after Consumed the next edge sends again.
func TestOneReadyInFlight(t *testing.T) { eachBackend(t, testOneReadyInFlight) }

func testOneReadyInFlight(t *testing.T, kind Backend) {
	p, ch := newPoller(t, kind)
	a, b := socketpair(t)
	s1, s2 := socketpair(t) // a sentinel registration, to order the checks
	r, err := p.Register(a, pid)
	if err != nil {
		t.Fatal(err)
	}
	sentinel, err := p.Register(s1, pid)
	if err != nil {
		t.Fatal(err)
	}
	r.Want(Readable)
	sentinel.Want(Readable)
	write(t, b)
	if got := recv(t, ch); got.Reg != r {
		t.Fatal("first Ready is not for the registration")
	}
	for i := 0; i < 5; i++ {
		write(t, b)
	}
	// The sentinel's edge comes after the five writes' edges in the kernel's
	// ready list, so once it is delivered the count below is final.
	write(t, s2)
	for {
		got := recv(t, ch)
		if got.Reg == sentinel {
			break
		}
		t.Fatal("a second Ready was sent while the first was unconsumed")
	}
	r.Consumed(Readable)
	write(t, b)
	if got := recv(t, ch); got.Reg != r {
		t.Fatal("no Ready after Consumed")
	}
}

func TestNoReadyWithoutWant(t *testing.T) { eachBackend(t, testNoReadyWithoutWant) }

func testNoReadyWithoutWant(t *testing.T, kind Backend) {
	p, ch := newPoller(t, kind)
	a, b := socketpair(t)
	s1, s2 := socketpair(t)
	r, err := p.Register(a, pid)
	if err != nil {
		t.Fatal(err)
	}
	sentinel, _ := p.Register(s1, pid)
	sentinel.Want(Readable)
	write(t, b)
	write(t, s2)
	if got := recv(t, ch); got.Reg != sentinel {
		t.Fatalf("Ready for a direction nobody wanted: %+v", got)
	}
	if r.HungUp() {
		t.Fatal("HungUp before any hang-up")
	}
	r.Want(Writable)
	unix.Shutdown(b, unix.SHUT_RDWR) // an edge with EPOLLOUT|EPOLLHUP (kqueue: EV_EOF)
	if got := recv(t, ch); got.Reg != r || got.Dir != Writable {
		t.Fatalf("Ready = %+v; want writable", got)
	}
	if !r.HungUp() {
		// That Ready was the registration's own writable edge, seen by the
		// loop only after Want (CI saw it once): the hang-up's comes next.
		r.Consumed(Writable)
		if got := recv(t, ch); got.Reg != r || got.Dir != Writable || !r.HungUp() {
			t.Fatalf("Ready = %+v, HungUp %v; want writable after the peer shut down", got, r.HungUp())
		}
	}
}

// TestReusedFDNeverReachesNewOwner: after an fd is deregistered and
// closed, a new registration of the same number gets a new generation, and
// the old token no longer resolves.
func TestReusedFDNeverReachesNewOwner(t *testing.T) { eachBackend(t, testReusedFDNeverReachesNewOwner) }

func testReusedFDNeverReachesNewOwner(t *testing.T, kind Backend) {
	p, ch := newPoller(t, kind)
	fds := rawSocketpair(t)
	old, err := p.Register(fds[0], pid)
	if err != nil {
		t.Fatal(err)
	}
	oldToken := uint64(uint32(old.fd)) | uint64(old.gen)<<32
	if err := old.Deregister(); err != nil {
		t.Fatal(err)
	}
	unix.Close(fds[0])
	unix.Close(fds[1])

	a, b := socketpair(t)
	if a != old.fd {
		t.Skipf("the kernel did not reuse fd %d (got %d)", old.fd, a)
	}
	owner := actor.NewPID("test", "new-owner")
	r, err := p.Register(a, owner)
	if err != nil {
		t.Fatal(err)
	}
	if r.gen == old.gen {
		t.Fatal("new registration reused the generation")
	}
	if got := p.lookup(oldToken); got != nil {
		t.Fatal("a stale token resolved to the new registration")
	}
	r.Want(Readable)
	write(t, b)
	if got := recv(t, ch); got.Reg != r {
		t.Fatalf("Ready went to %+v; want the new registration", got.Reg)
	}
}

func TestTableGrows(t *testing.T) { eachBackend(t, testTableGrows) }

func testTableGrows(t *testing.T, kind Backend) {
	p, ch := newPoller(t, kind)
	// Dup an fd to a high number to force the table past its first size.
	a, b := socketpair(t)
	high, err := unix.FcntlInt(uintptr(a), unix.F_DUPFD_CLOEXEC, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(high)
	r, err := p.Register(high, pid)
	if err != nil {
		t.Fatal(err)
	}
	r.Want(Readable)
	write(t, b)
	if got := recv(t, ch); got.Reg != r {
		t.Fatal("no Ready for a high fd")
	}
	if err := r.Deregister(); err != nil {
		t.Fatal(err)
	}
}

func TestRegisterAfterStop(t *testing.T) { eachBackend(t, testRegisterAfterStop) }

func testRegisterAfterStop(t *testing.T, kind Backend) {
	ch := make(chanSender, 1)
	p, err := New(ch, WithBackend(kind))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	a, _ := socketpair(t)
	if _, err := p.Register(a, pid); err != ErrStopped {
		t.Fatalf("Register after Stop = %v; want ErrStopped", err)
	}
	if _, err := p.Register(-1, pid); err == nil {
		t.Fatal("Register(-1) succeeded")
	}
}

// againSender asks for another Ready from inside each delivery, as an
// owner running on the poller's goroutine does when its read loop stops
// before EAGAIN, until it has had n.
type againSender struct {
	ch chan *Ready
	n  int
}

func (s *againSender) Send(_ *actor.PID, msg interface{}) {
	r := msg.(*Ready)
	if s.n--; s.n > 0 {
		r.Reg.Consumed(r.Dir)
		r.Reg.Again(r.Dir)
	}
	s.ch <- r
}

// TestAgain: a Ready asked for with Again comes without a new edge, both
// from inside a delivery (served after the batch) and from another
// goroutine while the loop blocks in its wait (which it wakes).
func TestAgain(t *testing.T) { eachBackend(t, testAgain) }

func testAgain(t *testing.T, kind Backend) {
	t.Run("inline", func(t *testing.T) {
		s := &againSender{ch: make(chan *Ready, 8), n: 3}
		p, err := New(s, WithBackend(kind))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Stop() })
		a, b := socketpair(t)
		r, err := p.Register(a, pid, Readable)
		if err != nil {
			t.Fatal(err)
		}
		write(t, b) // one edge, three Ready
		for i := 0; i < 3; i++ {
			if got := recv(t, s.ch); got.Reg != r || got.Dir != Readable {
				t.Fatalf("Ready %d = %+v; want readable for the registration", i, got)
			}
		}
	})
	t.Run("other goroutine", func(t *testing.T) {
		p, ch := newPoller(t, kind)
		a, _ := socketpair(t)
		r, err := p.Register(a, pid, Writable)
		if err != nil {
			t.Fatal(err)
		}
		recv(t, ch) // send space, at once
		r.Consumed(Writable)
		for deadline := time.Now().Add(5 * time.Second); !p.sleeping.Load(); runtime.Gosched() {
			if time.Now().After(deadline) {
				t.Fatal("the loop never blocks in its wait")
			}
		}
		r.Again(Writable) // no new edge comes: only Again (and its Wake) sends
		if got := recv(t, ch); got.Reg != r || got.Dir != Writable {
			t.Fatalf("Ready = %+v; want writable for the registration", got)
		}
	})
}
