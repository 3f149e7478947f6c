package poller

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestURingRehomeLeavesRecvPoll: when the loop moves to another thread, a
// receiving registration's receive is armed again from there, but its
// poll (writability and errors) is left where it is, uncancelled, and
// still reports writability: a move at 9,000 connections cancels 9,000
// requests, not 18,000.
func TestURingRehomeLeavesRecvPoll(t *testing.T) {
	skipRefused(t, BackendIOUring)
	u := newURing(t)
	u.setRecvSink(&sinkRecorder{room: 4})
	a, b := socketpair(t)
	if err := unix.SetNonblock(a, true); err != nil {
		t.Fatal(err)
	}
	evs := make([]event, 8)
	first, second := newLockedThread(t), newLockedThread(t)
	first.run(func() {
		_, _ = u.Wait(evs, 1) // the loop blocks on first
		if recv, err := u.AddRecv(a, unix.EPOLLOUT, 1, recvBytes(4)); err != nil || !recv {
			t.Errorf("AddRecv = %v, %v; want a receive", recv, err)
		}
	})
	if t.Failed() {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	var stopping bool
	second.run(func() { // the move: the receive's cancel, its end read
		for {
			_, _ = u.Wait(evs, 1)
			u.mu.Lock()
			stopping = u.slots[a].recvStopping
			u.mu.Unlock()
			if u.rehomes.Load() > 0 && !stopping || time.Now().After(deadline) {
				return
			}
		}
	})
	if n := u.rehomes.Load(); n != 1 || stopping {
		t.Fatalf("rehomes = %d, receive still stopping: %v; want 1 move", n, stopping)
	}
	if n := u.rearms.Load(); n != 0 {
		t.Fatalf("the move ended and re-armed %d polls; want the receiving registration's left alone", n)
	}
	// Fill a's send buffer, then drain it from b: a's poll wakes with
	// EPOLLOUT (on first's thread, which posts the CQE).
	chunk := make([]byte, 64<<10)
	for {
		if _, err := unix.Write(a, chunk); err != nil {
			break
		}
	}
	writable := false
	second.run(func() {
		for !writable && time.Now().Before(deadline) {
			_, _ = unix.Read(b, chunk)
			n, _ := u.Wait(evs, 5)
			for i := range evs[:n] {
				writable = writable || tokenOf(&evs[i]) == 1 && evs[i].Events&unix.EPOLLOUT != 0
			}
		}
	})
	if !writable {
		t.Fatal("no writability from the poll left on the old thread")
	}
}
