package poller

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// onThread runs f on a goroutine locked to a thread of its own, and waits.
func onThread(f func()) {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread() // the thread ends with the goroutine
		f()
		close(done)
	}()
	<-done
}

// TestURingArmsFromTheLoop: an Add from another thread than the loop's is
// armed by the loop (the fd's state comes at its next Wait); when the
// loop moves to another thread, its requests are armed again from there
// and still report readiness.
func TestURingArmsFromTheLoop(t *testing.T) {
	skipRefused(t, BackendIOUring)
	u := newURing(t)
	a, b := socketpair(t)
	c, d := socketpair(t)
	write(t, b) // a is readable before it is added
	evs := make([]event, 8)
	wait := func() []event {
		n, err := u.Wait(evs, 5000)
		if err != nil {
			t.Error(err)
		}
		return evs[:n]
	}
	loop := make(chan func())
	stop := make(chan struct{})
	go func() { // the loop's goroutine, on a thread of its own
		runtime.LockOSThread()
		for f := range loop {
			f()
		}
		close(stop)
	}()
	run := func(f func()) {
		done := make(chan struct{})
		loop <- func() { f(); close(done) }
		<-done
	}
	run(func() { _, _ = u.Wait(evs, 1) }) // the loop has blocked on its thread
	onThread(func() {
		if err := u.Add(a, unix.EPOLLIN, 1); err != nil {
			t.Error(err)
		}
		if len(u.pending) != 1 {
			t.Errorf("an Add from another thread armed at once: pending %v", u.pending)
		}
	})
	var got []event
	run(func() { got = wait() })
	if len(got) != 1 || tokenOf(&got[0]) != 1 || !readable(&got[0]) {
		t.Fatalf("Wait after a foreign Add = %+v; want a readable", got)
	}
	run(func() {
		if err := u.Add(c, unix.EPOLLIN, 2); err != nil {
			t.Error(err)
		}
	})
	if len(u.pending) != 0 {
		t.Fatalf("an Add on the loop's thread was queued: pending %v", u.pending)
	}
	close(loop)
	<-stop
	// The loop goes on on another thread: its requests follow it.
	onThread(func() {
		_, _ = u.Wait(evs, 1)
		if u.rehomes.Load() != 1 {
			t.Errorf("rehomes = %d after the loop changed threads; want 1", u.rehomes.Load())
		}
		write(t, d)
		for i := 0; i < 4; i++ {
			for _, ev := range wait() {
				if tokenOf(&ev) == 2 && readable(&ev) {
					return
				}
			}
		}
		t.Error("no readiness for c after the loop changed threads")
	})
}

// lockedThread is a goroutine locked to a thread of its own that runs
// what it is given until the test ends. The thread stays alive meanwhile:
// the requests armed from it run their task work on it.
type lockedThread chan func()

func newLockedThread(t *testing.T) lockedThread {
	th := make(lockedThread)
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread() // the thread ends with the goroutine
		for f := range th {
			f()
		}
		close(done)
	}()
	t.Cleanup(func() { close(th); <-done })
	return th
}

// run runs f on the thread and waits for it.
func (th lockedThread) run(f func()) {
	done := make(chan struct{})
	th <- func() { f(); close(done) }
	<-done
}

// sinkRecorder is a recvSink that keeps what it is handed and gives every
// token the same room.
type sinkRecorder struct {
	mu      sync.Mutex
	room    int
	entries []rxEntry
}

func (s *sinkRecorder) pushRecv(_ uint64, e rxEntry) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, e)
	return s.room, true
}

func (s *sinkRecorder) recvRoom(uint64) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.room, true
}

// seen returns the bytes handed over and whether an end was.
func (s *sinkRecorder) seen() (data []byte, ended bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entries {
		data = append(data, e.data...)
		ended = ended || e.end
	}
	return data, ended
}

// TestURingRehomeKeepsRecv: when the loop moves to another thread, the
// receive it had armed is cancelled and armed again from the new thread
// without its owner meeting an end, so an owner that is paused (or keeps
// up) goes on receiving; an owner with no room left meets the end, as at
// its cap, and reads the socket itself.
func TestURingRehomeKeepsRecv(t *testing.T) {
	skipRefused(t, BackendIOUring)
	for _, tc := range []struct {
		name      string
		room      int
		wantEnded bool
	}{
		{name: "room left", room: 4},
		{name: "no room", room: 0, wantEnded: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newURing(t)
			sink := &sinkRecorder{room: tc.room}
			u.setRecvSink(sink)
			a, b := socketpair(t)
			evs := make([]event, 8)
			first, second := newLockedThread(t), newLockedThread(t)
			first.run(func() {
				_, _ = u.Wait(evs, 1) // the loop blocks on first
				recv, err := u.AddRecv(a, unix.EPOLLOUT, 1, recvBytes(4))
				if err != nil || !recv {
					t.Errorf("AddRecv = %v, %v; want a receive", recv, err)
				}
			})
			if t.Failed() {
				return
			}
			// The loop goes on on second: its first blocking wait cancels
			// the receive; the loop reads its end.
			var stopping, armed bool
			deadline := time.Now().Add(5 * time.Second)
			second.run(func() {
				for {
					_, _ = u.Wait(evs, 1)
					u.mu.Lock()
					stopping, armed = u.slots[a].recvStopping, u.slots[a].recvArmed
					u.mu.Unlock()
					if u.rehomes.Load() > 0 && !stopping || time.Now().After(deadline) {
						return
					}
				}
			})
			if n := u.rehomes.Load(); n != 1 || stopping {
				t.Fatalf("rehomes = %d, receive still stopping: %v; want 1 move, the cancel's end read", n, stopping)
			}
			if _, ended := sink.seen(); ended != tc.wantEnded || armed == tc.wantEnded {
				t.Fatalf("after the move: owner met an end: %v, receive armed: %v; want end %v", ended, armed, tc.wantEnded)
			}
			if tc.wantEnded {
				return
			}
			want := []byte("after the move")
			if _, err := unix.Write(b, want); err != nil {
				t.Fatal(err)
			}
			var got []byte
			second.run(func() {
				for len(got) < len(want) && time.Now().Before(deadline) {
					_, _ = u.Wait(evs, 5)
					got, _ = sink.seen()
				}
			})
			if string(got) != string(want) {
				t.Fatalf("received %q after the move; want %q", got, want)
			}
			for _, e := range sink.entries {
				if e.hasBuf {
					u.ReleaseBuf(e.bid)
				}
			}
		})
	}
}
