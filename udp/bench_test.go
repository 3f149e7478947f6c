package udp

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// BenchmarkPushEchoDatagram: one 64-byte datagram round trip through a
// push-mode echo peer (Ready → recvmsg → handler → sendto), driven by a
// raw blocking client socket so the figure is the server side's: the
// default plain-Go handler, an actor handler, and on the worker pool
// (WithBlockingHandlers).
func BenchmarkPushEchoDatagram(b *testing.B) {
	b.Run("handler", func(b *testing.B) { benchPushEcho(b, echo) })
	b.Run("actor", func(b *testing.B) { benchPushEcho(b, ActorHandler(func() actor.Actor { return echoActor{} })) })
	b.Run("blocking", func(b *testing.B) { benchPushEcho(b, echo, WithBlockingHandlers()) })
}

type echoActor struct{}

func (echoActor) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(*messages.Datagram); ok {
		c := ConnOf(ctx)
		c.SendTo(c.From(), m.GetData())
	}
}

func benchPushEcho(b *testing.B, h Handler, opts ...ServeOption) {
	sys := newSystem(b)
	srv := serve(b, sys, "127.0.0.1:0", h, opts...)
	c, err := socket.Open(socket.IPv4, socket.Datagram)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Blocking(true); err != nil {
		b.Fatal(err)
	}
	if err := c.Connect(srv.LocalAddr()); err != nil {
		b.Fatal(err)
	}
	msg, buf := make([]byte, 64), make([]byte, 128)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		for {
			n, err := c.Read(buf)
			if err == unix.EINTR {
				continue
			}
			if err != nil || n != len(msg) {
				b.Fatal(n, err)
			}
			break
		}
	}
}
