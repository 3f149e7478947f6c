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
