package actors

import (
	"fmt"
	"testing"

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
		peers[i] = spawnSignaller(b, sys, got)
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
