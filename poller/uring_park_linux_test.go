package poller

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// uringParkedPoller starts an io_uring poller whose every blocking wait
// is released, on one P (restored at cleanup), with one end of a socket
// pair registered for reading: it returns the backend, the poller, the
// registration, the other end and where Ready messages go.
func uringParkedPoller(t *testing.T) (*URing, *Poller, *Registration, int, chanSender) {
	t.Helper()
	skipRefused(t, BackendIOUring)
	withHandoffAfter(t, 0)
	old := runtime.GOMAXPROCS(1)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	u, err := NewURing()
	if err != nil {
		t.Fatal(err)
	}
	p, r, b, ch := pollerOn(t, u)
	return u, p, r, b, ch
}

// awaitParked waits until the loop is parked in the netpoller.
func awaitParked(t *testing.T, round int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !loopParked() {
		if time.Now().After(deadline) {
			t.Fatalf("round %d: the loop never parked in the netpoller:\n%s", round, loopStack())
		}
		runtime.Gosched()
	}
}

// awaitBlocked waits until the loop is blocked in io_uring_enter.
func awaitBlocked(t *testing.T, round int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, g := range strings.Split(loopStack(), "\n\n") {
			if strings.Contains(g, "poller.(*URing).wait(") && strings.Contains(g, "[syscall") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("round %d: the loop never blocked in io_uring_enter:\n%s", round, loopStack())
		}
		runtime.Gosched()
	}
}

// On one P, an io_uring loop whose waits are long parks in Go's
// netpoller on the ring's fd, as epoll's does: readiness still reaches
// the owner (its CQE, posted by task work on the thread that parked the
// loop, makes the fd readable). On two Ps it hands its P off again.
func TestURingReleasedWaitParks(t *testing.T) {
	u, p, r, b, ch := uringParkedPoller(t)
	const rounds = 10
	for i := range rounds {
		awaitParked(t, i)
		roundTrip(t, r, b, ch)
	}
	if n := u.park.parks.Load(); n < rounds {
		t.Fatalf("parker woke from %d parked waits, want %d or more", n, rounds)
	}
	if st := p.Stats(); st.ReleasedWaits < rounds {
		t.Fatalf("ReleasedWaits = %d, want the parked waits counted", st.ReleasedWaits)
	}

	runtime.GOMAXPROCS(2)
	roundTrip(t, r, b, ch) // the parked wait it was in
	parks, released := u.park.parks.Load(), p.Stats().ReleasedWaits
	for i := range rounds {
		awaitBlocked(t, i)
		roundTrip(t, r, b, ch)
	}
	if n := u.park.parks.Load() - parks; n > 0 {
		t.Fatalf("%d parked waits on two Ps; want the waits handed off", n)
	}
	if n := p.Stats().ReleasedWaits - released; n < rounds-1 {
		t.Fatalf("%d released waits in %d rounds on two Ps; want them handed off", n, rounds)
	}
}

// A parked loop is woken for what another goroutine asks of it: a
// registration made on another thread (armed by the loop, after the NOP
// that wakes it), a receive into the poller's buffers, and Stop.
func TestURingParkedLoopWakes(t *testing.T) {
	t.Setenv(RecvEnv, "1")
	_, p, _, _, ch := uringParkedPoller(t)
	u := p.be.(*URing)
	awaitParked(t, 0)
	a, b := socketpair(t)
	// Registered from another thread than the one the loop parked on:
	// queued for the loop, which a NOP wakes to arm it (home). A
	// goroutine that finds itself on the loop's thread keeps it (locked,
	// waiting) so that the next one runs on another.
	hold := make(chan struct{})
	defer close(hold)
	var r *Registration
	var err error
	for range 3 {
		done := make(chan bool)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			if int32(unix.Gettid()) == u.loopTid.Load() {
				done <- false
				<-hold
				return
			}
			r, err = p.RegisterRecv(a, pid, MaxRecvBuffers, Readable)
			done <- true
		}()
		if <-done {
			break
		}
	}
	switch {
	case err != nil:
		t.Fatal(err)
	case r == nil:
		t.Fatal("no goroutine ran on another thread than the loop's")
	case !r.Receives():
		t.Fatal("RegisterRecv on io_uring: Receives() = false")
	}
	for i := range 5 {
		awaitParked(t, i)
		want := pattern(1000 + i)
		if n, err := unix.Write(b, want); n != len(want) || err != nil {
			t.Fatalf("write: %d, %v", n, err)
		}
		got, _, _ := collect(t, r, ch, a, len(want), true)
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: received %d bytes unlike the %d sent", i, len(got), len(want))
		}
	}
	awaitParked(t, 5)
	stopped := make(chan error, 1)
	go func() { stopped <- p.Stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Stop did not wake the parked loop:\n%s", loopStack())
	}
}

// A Remove that gives up waiting for its request's end (removeGiveUp)
// still wakes a parked loop for the CQEs it moved out of the ring to the
// backlog: the ring's fd, found empty, would not (drainForRemoveLocked).
func TestURingParkedLoopWokenAfterRemoveGivesUp(t *testing.T) {
	u, _, r, b, ch := uringParkedPoller(t)
	old := removeGiveUp
	removeGiveUp = 30 * time.Millisecond
	t.Cleanup(func() { removeGiveUp = old })
	awaitParked(t, 0)
	never := userData(1<<20, 1) // a request that never ends
	u.mu.Lock()
	if u.removing == nil {
		u.removing = make(map[uint64]struct{})
	}
	u.removing[never] = struct{}{}
	u.mu.Unlock()
	write(t, b) // its CQE: moved to the backlog by awaitEnd, on this P before the loop runs
	u.awaitEnd(never, 0, 0)
	if n := u.gaveUp.Load(); n != 1 {
		t.Fatalf("gaveUp = %d; want the Remove to have given up", n)
	}
	recv(t, ch)
	r.Consumed(Readable)
}
