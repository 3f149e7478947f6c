package tcp

import (
	"runtime"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// BenchmarkPushEchoRoundTrip: one 64-byte round trip through a push-mode
// echo (Ready → read → handler → write(2)), driven by a raw blocking
// client socket so the figure is the server side's: the default plain-Go
// handler, the same as an actor handler, and on the worker pool
// (WithBlockingHandlers).
func BenchmarkPushEchoRoundTrip(b *testing.B) {
	echo := HandlerFunc(func(c *Conn, msg any) {
		if m, ok := msg.(*messages.Received); ok {
			c.Write(m.GetData())
		}
	})
	b.Run("handler", func(b *testing.B) { benchPushEcho(b, echo) })
	b.Run("actor", func(b *testing.B) { benchPushEcho(b, ActorHandler(func() actor.Actor { return echoActor{} })) })
	b.Run("blocking", func(b *testing.B) { benchPushEcho(b, echo, WithBlockingHandlers()) })
}

type echoActor struct{}

func (echoActor) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(*messages.Received); ok {
		ConnOf(ctx).Write(m.GetData())
	}
}

func benchPushEcho(b *testing.B, h Handler, opts ...ServeOption) {
	sys := newSystem(b)
	l, err := Serve(testCtx(b), sys, "127.0.0.1:0", h, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close(testCtx(b)) })
	c, err := socket.Open(socket.IPv4, socket.Stream)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Blocking(true); err != nil {
		b.Fatal(err)
	}
	if err := c.Connect(l.Addr()); err != nil {
		b.Fatal(err)
	}
	msg, buf := make([]byte, 64), make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < len(buf); {
			n, err := c.Read(buf[got:])
			if err == unix.EINTR {
				continue
			}
			if err != nil || n == 0 {
				b.Fatal(n, err)
			}
			got += n
		}
	}
}

// BenchmarkIdleConnectionHeap reports the live heap each idle push-mode
// connection holds (B/conn): b.N connections (at most 5,000, so two runs
// stay under the fd limit) are opened by raw client sockets, which hold no
// Go heap, and the heap is measured once every handler has seen Connected.
func BenchmarkIdleConnectionHeap(b *testing.B) {
	sys := newSystem(b)
	connected := make(chan struct{}, 5000)
	l, err := Serve(testCtx(b), sys, "127.0.0.1:0", HandlerFunc(func(c *Conn, msg any) {
		if _, ok := msg.(*messages.Connected); ok {
			connected <- struct{}{}
		}
	}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close(testCtx(b)) })
	n := min(b.N, 5000)
	ap := l.Addr()
	sa := &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	fds := make([]int, 0, n)
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	for range n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0) // (macOS has no SOCK_CLOEXEC)
		if err != nil {
			b.Fatal(err)
		}
		unix.CloseOnExec(fd)
		fds = append(fds, fd)
		if err := unix.Connect(fd, sa); err != nil {
			b.Fatal(err)
		}
	}
	for range n {
		<-connected
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(n), "B/conn")
}
