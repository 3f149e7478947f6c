package poller

import (
	"testing"

	"golang.org/x/sys/unix"
)

// benchBackends runs bench once per backend of this OS.
func benchBackends(b *testing.B, bench func(b *testing.B, kind Backend)) {
	for _, kind := range testBackends {
		b.Run(kind.String(), func(b *testing.B) { bench(b, kind) })
	}
}

// BenchmarkPollerDelivery: write a byte into a socket pair → epoll edge
// (an io_uring poll CQE) → the poller's table lookup and in-flight check →
// Send. The receiving side here is a channel, so this isolates the
// poller's cost; the actor-level figure is
// actors.BenchmarkReadinessDelivery.
func BenchmarkPollerDelivery(b *testing.B) { benchBackends(b, benchmarkPollerDelivery) }

func benchmarkPollerDelivery(b *testing.B, kind Backend) {
	ch := make(chanSender, 1)
	p, err := New(ch, WithBackend(kind))
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

// BenchmarkRegisterDeregister: what a connection's life costs the
// poller, its registration and its removal (io_uring: a poll request
// armed, then cancelled and waited for).
func BenchmarkRegisterDeregister(b *testing.B) { benchBackends(b, benchmarkRegisterDeregister) }

func benchmarkRegisterDeregister(b *testing.B, kind Backend) {
	p, err := New(make(chanSender, 1), WithBackend(kind))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Stop()
	a, _ := socketpair(b)
	b.ReportAllocs()
	for b.Loop() {
		r, err := p.Register(a, pid)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Deregister(); err != nil {
			b.Fatal(err)
		}
	}
}
