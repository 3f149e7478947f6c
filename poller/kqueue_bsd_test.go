//go:build darwin || freebsd

package poller

import (
	"testing"

	"golang.org/x/sys/unix"
)

// These tests mirror epoll_linux_test.go for the kqueue backend. CI only
// compiles them (go vet); run them on a Mac or a FreeBSD machine.

// testBackends are the backends the poller's own tests run on: kqueue.
var testBackends = []Backend{BackendKqueue}

func newKqueue(t *testing.T) *Kqueue {
	t.Helper()
	k, err := NewKqueue()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := k.Close(); err != nil {
			t.Error(err)
		}
	})
	return k
}

// waitEvents waits up to 5 s for events and returns them.
func waitEvents(t *testing.T, k *Kqueue) []event {
	t.Helper()
	evs := make([]event, 8)
	n, err := k.Wait(evs, 5000)
	if err != nil {
		t.Fatal(err)
	}
	return evs[:n]
}

func TestKqueueAddWaitRemove(t *testing.T) {
	k := newKqueue(t)
	a, b := socketpair(t)
	const token = 0xc0_0000_0007 // would be a bad heap pointer in a *byte
	if err := k.Add(a, KqueueRead, token); err != nil {
		t.Fatal(err)
	}
	if n, _ := k.Wait(make([]event, 4), 0); n != 0 {
		t.Fatalf("Wait reported %d events before any write", n)
	}
	if _, err := unix.Write(b, []byte("x")); err != nil {
		t.Fatal(err)
	}
	evs := waitEvents(t, k)
	if len(evs) != 1 || tokenOf(&evs[0]) != token || !readable(&evs[0]) || hangUp(&evs[0]) {
		t.Fatalf("events = %+v; want one EVFILT_READ with token %#x", evs, uint64(token))
	}
	// Edge-triggered (EV_CLEAR): the unread byte is not reported again.
	if n, _ := k.Wait(make([]event, 4), 0); n != 0 {
		t.Fatalf("Wait reported %d events again without a new edge", n)
	}
	if err := k.Remove(a); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(b, []byte("y")); err != nil {
		t.Fatal(err)
	}
	if n, _ := k.Wait(make([]event, 4), 0); n != 0 {
		t.Fatalf("Wait reported %d events after Remove", n)
	}
	if err := k.Remove(a); err == nil {
		t.Fatal("second Remove succeeded")
	}
}

func TestKqueueWritable(t *testing.T) {
	k := newKqueue(t)
	a, _ := socketpair(t)
	if err := k.Add(a, watched, 3); err != nil {
		t.Fatal(err)
	}
	evs := waitEvents(t, k)
	if len(evs) != 1 || tokenOf(&evs[0]) != 3 || !writable(&evs[0]) || readable(&evs[0]) {
		t.Fatalf("events = %+v; want one EVFILT_WRITE (send space at once)", evs)
	}
}

func TestKqueueWake(t *testing.T) {
	k := newKqueue(t)
	done := make(chan []event)
	go func() {
		evs := make([]event, 4)
		n, _ := k.Wait(evs, -1)
		done <- evs[:n]
	}()
	if err := k.Wake(); err != nil {
		t.Fatal(err)
	}
	evs := <-done
	if len(evs) != 1 || tokenOf(&evs[0]) != wakeToken {
		t.Fatalf("Wake delivered %+v; want the wake token", evs)
	}
	if n, _ := k.Wait(make([]event, 4), 0); n != 0 {
		t.Fatal("wake event still pending after it was reported (EV_CLEAR)")
	}
}

func TestKqueueHangUp(t *testing.T) {
	k := newKqueue(t)
	a, b := socketpair(t)
	if err := k.Add(a, KqueueRead, 1); err != nil {
		t.Fatal(err)
	}
	if err := unix.Shutdown(b, unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	evs := waitEvents(t, k)
	if len(evs) != 1 || !hangUp(&evs[0]) || !readable(&evs[0]) {
		t.Fatalf("events = %+v; want EVFILT_READ with EV_EOF", evs)
	}
}
