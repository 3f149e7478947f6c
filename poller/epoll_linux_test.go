package poller

import (
	"testing"

	"golang.org/x/sys/unix"
)

// socketpair returns a non-blocking AF_UNIX stream pair, closed at cleanup.
func socketpair(t testing.TB) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

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
