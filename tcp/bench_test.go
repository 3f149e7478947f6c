package tcp

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// BenchmarkPushEchoRoundTrip: one 64-byte round trip through a push-mode
// echo (Received → handler → Write and ResumeReading → the connection's
// write), driven by a raw blocking client socket so the figure is the
// server side's. Allocations per round trip are what issue 6 drives to 0.
func BenchmarkPushEchoRoundTrip(b *testing.B) {
	b.Run("dispatcher", func(b *testing.B) { benchPushEcho(b, false, false) })
	b.Run("inline", func(b *testing.B) { benchPushEcho(b, true, false) })
	b.Run("inline-loaned", func(b *testing.B) { benchPushEcho(b, true, true) })
}

// benchPushEcho measures the echo with the handler on the worker-pool
// dispatcher, or inline (actors.InlineMailbox: on the poller's goroutine).
func benchPushEcho(b *testing.B, inline, loaned bool) {
	sys := newSystem(b)
	where := actor.WithDispatcher(sys.Dispatcher())
	if inline {
		where = actor.WithMailbox(actors.InlineMailbox)
	}
	echo := actor.PropsFromFunc(func(ctx actor.Context) {
		if m, ok := ctx.Message().(*messages.Received); ok {
			ctx.Send(ctx.Parent(), &messages.Write{Data: m.GetData(), Credit: 1})
		}
	}, where)
	var opts []ListenOption
	if loaned {
		opts = append(opts, WithLoanedReads())
	}
	l, err := Serve(testCtx(b), sys, "127.0.0.1:0", echo, opts...)
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
