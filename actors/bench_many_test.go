package actors

import (
	"fmt"
	"testing"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// BenchmarkReadinessDeliveryMany: n socket actors on one poller, each a
// readerActor over a socket pair; a round writes one byte to every pair
// and waits for the n reads. The loop's batches then hold many events,
// as a server's at 1,000 connections, and each delivery walks one
// connection's state (registration, mailbox, actor context, core,
// socket) that the others have pushed out of the cache: ns/event grows
// with n by what a cold delivery costs.
func BenchmarkReadinessDeliveryMany(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchDeliveryMany(b, n) })
	}
}

func benchDeliveryMany(b *testing.B, n int) {
	sys := newSystem(b, WithPollers(1))
	got := make(chan struct{}, n)
	peers := make([]*socket.Socket, n)
	for i := range n {
		a, peer, err := socket.Pair(socket.Stream)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = peer.Close() })
		peers[i] = peer
		var rc *core.Core
		buf := make([]byte, 64)
		hooks := core.Hooks{
			Ready: func(d poller.Direction) {
				if d != poller.Readable {
					return
				}
				for {
					n, err := rc.Socket().Read(buf)
					if err != nil || n == 0 {
						return
					}
					got <- struct{}{}
					if n < len(buf) && !rc.Registration().HungUp() {
						return
					}
				}
			},
			Wants: func(d poller.Direction) bool { return d == poller.Readable },
		}
		props := core.SocketProps(sys.Runtime(), a, func(c *core.Core) (core.SocketActor, core.Hooks) { rc = c; return &readerActor{core: c}, hooks })
		if _, err := sys.Runtime().SpawnSocketActor(props); err != nil {
			b.Fatal(err)
		}
		rc.Registration().Want(poller.Readable)
	}
	one := []byte{1}
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range peers {
			if _, err := p.Write(one); err != nil {
				b.Fatal(err)
			}
		}
		for range n {
			<-got
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}
