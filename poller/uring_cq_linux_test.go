package poller

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// newSmallURing is a URing on a ring of sq and cq entries, its requests
// armed by the calling goroutine's thread (locked to it until cleanup),
// so that their wake-ups' task work runs in its io_uring_enter calls.
func newSmallURing(t *testing.T, sq, cq uint32) *URing {
	t.Helper()
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	r, err := newRing(sq, cq)
	if err != nil {
		t.Fatal(err)
	}
	u, err := uringOn(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Close() })
	return u
}

// runTaskWork enters the ring with nothing to submit and nothing to wait
// for: the wake-ups queued as task work post their CQEs.
func runTaskWork(t *testing.T, u *URing) {
	t.Helper()
	u.mu.Lock()
	_, err := u.r.enter(0, 0, ioringEnterGetEvents, nil)
	u.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
}

// A loop that takes fewer events a turn than the kernel posts (here one
// of every four) leaves none of them in the CQ ring: it never fills, so
// no CQE goes to the kernel's overflow list and no multishot request
// ends for it (each one would be armed again), and every edge is
// reported once.
func TestURingCQBacklogKeepsRingFree(t *testing.T) {
	u := newSmallURing(t, 4, 8)
	const n, perTurn = 32, 4
	var fds, peers [n]int
	for i := range n {
		fds[i], peers[i] = socketpair(t)
		if err := u.Add(fds[i], unix.EPOLLIN, uint64(100+i)); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[uint64]int{}
	one := make([]event, 1)
	take := func(evs []event) {
		for i := range evs {
			if tok := TokenOf(&evs[i]); tok != wakeToken {
				seen[tok]++
			}
		}
	}
	for i := 0; i < n; i += perTurn {
		for j := i; j < i+perTurn; j++ {
			if _, err := unix.Write(peers[j], []byte{1}); err != nil {
				t.Fatal(err)
			}
		}
		runTaskWork(t, u) // perTurn CQEs posted
		k, err := u.Wait(one, 0)
		if err != nil {
			t.Fatal(err)
		}
		take(one[:k])
		if u.r.cqOverflowed() {
			t.Fatalf("turn %d: the CQ ring of 8 overflowed (rearms %d)", i/perTurn, u.rearms.Load())
		}
	}
	for deadline := time.Now().Add(5 * time.Second); len(seen) < n; {
		take(pollNow(t, u))
		if time.Now().After(deadline) {
			t.Fatalf("saw %d of %d fds' edges", len(seen), n)
		}
	}
	if r := u.rearms.Load(); r != 0 {
		t.Errorf("%d multishot polls ended and were armed again; want 0", r)
	}
	for tok, k := range seen {
		if k != 1 {
			t.Errorf("token %d reported %d times; want 1", tok, k)
		}
	}
}

// A Remove made by the loop while the CQ ring is full (the loop is the
// caller, so nothing else reads the ring) still sees its request's end
// at once: it moves the ring's CQEs to the backlog, where the loop reads
// them afterwards. Before, it waited removeGiveUp (a second) for a CQE
// the full ring could not take. The loop's goroutine may run on another
// thread than the one it last blocked on (Go moved it): that Remove too.
func TestURingRemoveOnLoopWithFullRing(t *testing.T) {
	for _, tc := range []struct {
		name string
		tid  func() int32
	}{
		{"on its thread", func() int32 { return int32(unix.Gettid()) }},
		{"moved", func() int32 { return int32(unix.Gettid()) + 1 }}, // another thread's
	} {
		t.Run(tc.name, func(t *testing.T) { removeWithFullRing(t, tc.tid()) })
	}
}

func removeWithFullRing(t *testing.T, loopTid int32) {
	u := newSmallURing(t, 4, 8)
	const n = 12
	var fds, peers [n]int
	for i := range n {
		fds[i], peers[i] = socketpair(t)
		if err := u.Add(fds[i], unix.EPOLLIN, uint64(100+i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n - 1 {
		if _, err := unix.Write(peers[i], []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	runTaskWork(t, u)        // 11 CQEs: 8 in the ring, 3 in the kernel's overflow list
	u.loopTid.Store(loopTid) // the thread the loop last blocked on
	if err := u.Remove(fds[n-1]); err != nil {
		t.Fatal(err)
	}
	if u.gaveUp.Load() != 0 {
		t.Fatal("Remove gave up waiting for its request's end")
	}
	seen := map[uint64]bool{}
	for deadline := time.Now().Add(5 * time.Second); len(seen) < n-1; {
		for _, ev := range pollNow(t, u) {
			seen[TokenOf(&ev)] = true
		}
		if time.Now().After(deadline) {
			t.Fatalf("saw %d of %d fds' edges after the Remove", len(seen), n-1)
		}
	}
	if seen[uint64(100+n-1)] {
		t.Error("the removed fd was reported")
	}
}

// While a loop is blocked (or about to block) in io_uring_enter, a
// Remove leaves the ring's CQEs where they are: moved to the backlog,
// they would wait there unread, since the wait ends only for CQEs posted
// after it began. And the loop does not block where a Remove has moved
// some since its reap: it reads them first.
func TestURingRemoveLeavesTheRingToABlockedLoop(t *testing.T) {
	u := newSmallURing(t, 4, 8)
	a, b := socketpair(t)
	if err := u.Add(a, unix.EPOLLIN, 1); err != nil {
		t.Fatal(err)
	}
	write(t, b)
	runTaskWork(t, u) // a's CQE in the ring
	inRing := func() uint32 { return atomic.LoadUint32(u.r.cqTail) - atomic.LoadUint32(u.r.cqHead) }
	if !u.block() {
		t.Fatal("block refused with an empty backlog")
	}
	u.mu.Lock()
	u.drainForRemoveLocked()
	moved := len(u.cqBacklog)
	u.mu.Unlock()
	if moved != 0 || inRing() == 0 {
		t.Fatalf("a Remove moved %d CQEs out of the ring (%d left) while the loop blocked", moved, inRing())
	}
	u.unblock()
	u.mu.Lock()
	u.drainForRemoveLocked() // the loop runs: the Remove may move them
	moved = len(u.cqBacklog)
	u.mu.Unlock()
	if moved == 0 {
		t.Fatal("a Remove left the ring alone while no loop blocked")
	}
	if u.block() {
		t.Fatal("block agreed to wait with CQEs in the backlog")
	}
	evs := make([]event, 8)
	n, err := u.Wait(evs, -1) // must not block: the backlog holds a's
	if err != nil || n != 1 || TokenOf(&evs[0]) != 1 {
		t.Fatalf("Wait = %d events (%v); want a's from the backlog", n, err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.blocked != 0 {
		t.Fatalf("blocked = %d after the waits; want 0", u.blocked)
	}
}
