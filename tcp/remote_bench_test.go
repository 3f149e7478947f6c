//go:build !race

package tcp_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/test/testkit"
)

// remoteNodes starts node A and node B in this process.
func remoteNodes(b *testing.B) (a, c *actors.System) {
	return testkit.System(b, actors.WithRemote(""), actors.WithRemotePolicy(actors.AllowAll)), testkit.System(b, actors.WithRemote(""), actors.WithRemotePolicy(actors.AllowAll))
}

// BenchmarkRemoteStats is one remote request and answer through a handle:
// SocketStats on a client actor that lives on node A, asked from node B.
func BenchmarkRemoteStats(b *testing.B) {
	a, nb := remoteNodes(b)
	ctx := context.Background()
	c, err := tcp.NewClientAt(ctx, nb, a.Address())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.SocketStats(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = c.Close(ctx)
}

// BenchmarkRemoteSendRecv is a 64-byte echo through a client actor on node
// A driven from node B: a Send and a RecvExact, two remote round trips.
func BenchmarkRemoteSendRecv(b *testing.B) {
	a, nb := remoteNodes(b)
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			_, _ = io.Copy(conn, conn)
			conn.Close()
		}
	}()
	c, err := tcp.NewClientAt(ctx, nb, a.Address())
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Connect(ctx, ln.Addr().String()); err != nil {
		b.Fatal(err)
	}
	msg := bytes.Repeat([]byte("x"), 64)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
		if _, err := c.RecvExact(ctx, len(msg)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = c.Close(ctx)
}

// BenchmarkProtoActorRemoteRoundTrip is the bare Proto.Actor baseline for
// BenchmarkRemoteStats: RequestFuture from node B to an actor on node A
// that answers at once.
func BenchmarkProtoActorRemoteRoundTrip(b *testing.B) {
	a, nb := remoteNodes(b)
	pid, err := a.Root().SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*messages.GetSocketStats); ok {
			ctx.Respond(&messages.SocketStats{})
		}
	}), "echo")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := nb.Root().RequestFuture(pid, &messages.GetSocketStats{}, 5*time.Second).Result(); err != nil {
			b.Fatal(err)
		}
	}
}
