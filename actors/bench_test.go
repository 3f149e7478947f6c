package actors

import (
	"context"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

var benchReply = &messages.Status{Op: "bench"}

// echoActor answers every request with benchReply, through actornet's
// replier (core.Call) or Proto.Actor's Respond (RequestFuture).
func echoActor(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *core.Call:
		m.Reply.Reply(benchReply)
	case *messages.GetInfo:
		ctx.Respond(benchReply)
	}
}

// BenchmarkFutureRoundTrip: Request + Wait on a Future, to an actor on
// Proto.Actor's default mailbox and dispatcher.
func BenchmarkFutureRoundTrip(b *testing.B) {
	benchmarkFuture(b, actor.PropsFromFunc(echoActor))
}

func benchmarkFuture(b *testing.B, props *actor.Props) {
	sys := newSystem(b)
	pid := sys.Root().Spawn(props)
	ctx := context.Background()
	cmd := &messages.GetInfo{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Request[*messages.Status](sys.Root(), pid, cmd).Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequestFuture: the same round trip with Proto.Actor's
// RequestFuture, the baseline the Future must beat.
func BenchmarkRequestFuture(b *testing.B) {
	benchmarkRequestFuture(b, actor.PropsFromFunc(echoActor))
}

func benchmarkRequestFuture(b *testing.B, props *actor.Props) {
	sys := newSystem(b)
	pid := sys.Root().Spawn(props)
	cmd := &messages.GetInfo{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sys.Root().RequestFuture(pid, cmd, 5*time.Second).Result(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequestFutureInline: RequestFuture to an inline-mailbox actor,
// beside BenchmarkFutureRoundTripInline: the cost of the futures alone.
func BenchmarkRequestFutureInline(b *testing.B) {
	mb := core.NewInlineMailbox()
	benchmarkRequestFuture(b, actor.PropsFromFunc(echoActor, actor.WithMailbox(func() actor.Mailbox { return mb })))
}

// BenchmarkFutureRoundTripInline: the round trip to an actor on the inline
// mailbox socket actors use, which runs on the caller's goroutine.
func BenchmarkFutureRoundTripInline(b *testing.B) {
	mb := core.NewInlineMailbox()
	benchmarkFuture(b, actor.PropsFromFunc(echoActor, actor.WithMailbox(func() actor.Mailbox { return mb })))
}

// BenchmarkPollRoundTrip: Poll(write) on a writable socket actor: a core.Call,
// the actor's poll(2) check, the answer.
func BenchmarkPollRoundTrip(b *testing.B) {
	sys := newSystem(b)
	sa, _ := pair(b, sys)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if st, err := sa.Poll(ctx, opWrite); st != stEvent {
			b.Fatal(st, err)
		}
	}
}

// readerActor is a socket actor whose Ready hook reads what arrived and
// signals the benchmark: the hot path of every protocol actor.
type readerActor struct{ core *core.Core }

func (a *readerActor) Receive(ctx actor.Context) { a.core.Handle(ctx) }

func (a *readerActor) SocketCore() *core.Core { return a.core }

// BenchmarkReadinessDelivery: a byte written into a socket pair → epoll
// edge → Ready message to the socket actor (on the poller goroutine) → its
// read(2) → a signal back. Run with one poller so the path is fixed.
func BenchmarkReadinessDelivery(b *testing.B) {
	sys := newSystem(b, WithPollers(1))
	got := make(chan struct{}, 1)
	peer := spawnSignaller(b, sys, got)
	pingBytes(b, peer, got)
}

// spawnSignaller spawns a readerActor over one end of a socket pair,
// signalling got for each read that returns bytes, and returns the other
// end.
func spawnSignaller(b *testing.B, sys *System, got chan<- struct{}) *socket.Socket {
	a, peer, err := socket.Pair(socket.Stream)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = peer.Close() })
	var rc *core.Core
	buf := make([]byte, 64)
	hooks := core.Hooks{
		OnReady: func(d poller.Direction) {
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
					return // drained: skip the read that would say EAGAIN
				}
			}
		},
		OnWants: func(d poller.Direction) bool { return d == poller.Readable },
	}
	props := core.SocketProps(sys.Runtime(), a, func(c *core.Core) (core.SocketActor, core.Protocol) { rc = c; return &readerActor{core: c}, hooks })
	if _, err := sys.Runtime().SpawnSocketActor(props); err != nil {
		b.Fatal(err)
	}
	rc.Registration().Want(poller.Readable)
	return peer
}

// BenchmarkReadinessDeliveryGoNet is the same round trip with Go's net
// package: a goroutine blocked in Read on the socket pair (parked in Go's
// netpoller) wakes for each byte and signals back. Run it beside
// BenchmarkReadinessDelivery for the ratio.
func BenchmarkReadinessDeliveryGoNet(b *testing.B) {
	a, peer, err := socket.Pair(socket.Stream)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = peer.Close() })
	f := os.NewFile(uintptr(a.FD()), "pair")
	conn, err := net.FileConn(f) // dups the fd
	f.Close()
	_ = a.Close()
	if err != nil {
		b.Fatal(err)
	}
	got := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			for range n {
				got <- struct{}{}
			}
		}
	}()
	pingBytes(b, peer, got)
	b.StopTimer()
	conn.Close()
	<-done
}

// pingBytes is the benchmarks' loop: a byte into peer, then the signal
// that the reader on the other end read it.
func pingBytes(b *testing.B, peer io.Writer, got <-chan struct{}) {
	one := []byte{1}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := peer.Write(one); err != nil {
			b.Fatal(err)
		}
		<-got
	}
}
