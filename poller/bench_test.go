package poller

import (
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkPollerDelivery: write a byte into a socket pair → epoll edge →
// the poller's table lookup and in-flight check → Send. The receiving side
// here is a channel, so this isolates the poller's cost; the actor-level
// figure is actors.BenchmarkReadinessDelivery.
func BenchmarkPollerDelivery(b *testing.B) {
	ch := make(chanSender, 1)
	p, err := New(ch)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Stop()
	a, peer := socketpair(b)
	r, err := p.Register(a, pid)
	if err != nil {
		b.Fatal(err)
	}
	r.Want(Readable)
	one, buf := []byte{1}, make([]byte, 16)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := unix.Write(peer, one); err != nil {
			b.Fatal(err)
		}
		<-ch
		r.Consumed(Readable)
		if _, err := unix.Read(a, buf); err != nil {
			b.Fatal(err)
		}
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
