package poller

import (
	"testing"

	"golang.org/x/sys/unix"
)

func newEpoll(t *testing.T) *Epoll {
	t.Helper()
	e, err := NewEpoll()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// waitOne waits up to 5 s for events and returns them.
func waitOne(t *testing.T, e *Epoll) []unix.EpollEvent {
	t.Helper()
	evs := make([]unix.EpollEvent, 8)
	n, err := e.Wait(evs, 5000)
	if err != nil {
		t.Fatal(err)
	}
	return evs[:n]
}

func TestEpollAddWaitModifyRemove(t *testing.T) {
	e := newEpoll(t)
	a, b := socketpair(t)
	const token = 0xdead_0000_0007
	if err := e.Add(a, unix.EPOLLIN, token); err != nil {
		t.Fatal(err)
	}
	if evs := make([]unix.EpollEvent, 4); true {
		if n, _ := e.Wait(evs, 0); n != 0 {
			t.Fatalf("Wait reported %d events before any write", n)
		}
	}
	if _, err := unix.Write(b, []byte("x")); err != nil {
		t.Fatal(err)
	}
	evs := waitOne(t, e)
	if len(evs) != 1 || TokenOf(&evs[0]) != token || evs[0].Events&unix.EPOLLIN == 0 {
		t.Fatalf("events = %+v; want one EPOLLIN with token %#x", evs, uint64(token))
	}
	if err := e.Modify(a, unix.EPOLLOUT, token+1); err != nil {
		t.Fatal(err)
	}
	evs = waitOne(t, e)
	if len(evs) != 1 || TokenOf(&evs[0]) != token+1 || evs[0].Events&unix.EPOLLOUT == 0 {
		t.Fatalf("after Modify events = %+v; want EPOLLOUT with the new token", evs)
	}
	if err := e.Remove(a); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.Wait(make([]unix.EpollEvent, 4), 0); n != 0 {
		t.Fatalf("Wait reported %d events after Remove", n)
	}
	if err := e.Remove(a); err == nil {
		t.Fatal("second Remove succeeded")
	}
}

func TestEpollWake(t *testing.T) {
	e := newEpoll(t)
	done := make(chan []unix.EpollEvent)
	go func() {
		evs := make([]unix.EpollEvent, 4)
		n, _ := e.Wait(evs, -1)
		done <- evs[:n]
	}()
	if err := e.Wake(); err != nil {
		t.Fatal(err)
	}
	evs := <-done
	if len(evs) != 1 || TokenOf(&evs[0]) != wakeToken {
		t.Fatalf("Wake delivered %+v; want the wake token", evs)
	}
	e.ResetWake()
	if n, _ := e.Wait(make([]unix.EpollEvent, 4), 0); n != 0 {
		t.Fatal("wake event still pending after ResetWake")
	}
}

func TestEpollHangUp(t *testing.T) {
	e := newEpoll(t)
	a, b := socketpair(t)
	if err := e.Add(a, unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLET, 1); err != nil {
		t.Fatal(err)
	}
	if err := unix.Shutdown(b, unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	evs := waitOne(t, e)
	if len(evs) != 1 || evs[0].Events&unix.EPOLLRDHUP == 0 {
		t.Fatalf("events = %+v; want EPOLLRDHUP", evs)
	}
}

// The two ways to keep one readiness message per fd in flight, measured at
// the epoll level on one goroutine: edge-triggered, registered once (what
// Poller does, with an atomic in-flight flag), against EPOLLONESHOT, which
// needs an epoll_ctl(MOD) to re-arm after every event.
func benchmarkEpollMode(b *testing.B, oneShot bool) {
	e, err := NewEpoll()
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	a, peer := socketpair(b)
	ev := uint32(unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET)
	if oneShot {
		ev = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT
	}
	if err := e.Add(a, ev, 1); err != nil {
		b.Fatal(err)
	}
	events := make([]unix.EpollEvent, 8)
	one, buf := []byte{1}, make([]byte, 16)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := unix.Write(peer, one); err != nil {
			b.Fatal(err)
		}
		if n, err := e.Wait(events, -1); n != 1 || err != nil {
			b.Fatal(n, err)
		}
		if _, err := unix.Read(a, buf); err != nil {
			b.Fatal(err)
		}
		if oneShot {
			if err := e.Modify(a, ev, 1); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkEpollEdgeTriggered(b *testing.B) { benchmarkEpollMode(b, false) }

func BenchmarkEpollOneShotRearm(b *testing.B) { benchmarkEpollMode(b, true) }
