package poller

import (
	"runtime"
	"testing"

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
