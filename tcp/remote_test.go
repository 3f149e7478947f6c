//go:build !race

// Proto.Actor remote sets gRPC's global logger on every Start, which the
// race detector reports when two nodes run in one process (never the case
// in a real deployment). These two-node, one-process tests therefore run
// without -race (.ci/run runs them); test/remote_test.go runs node A as a
// second OS process, under -race.

package tcp_test

import (
	"bytes"
	"context"
	"errors"
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

// TestRemoteClient drives sockets owned by node A from node B through the
// same handle API: B has A listen, connect a client to that listener,
// accept it, and exchange bytes both ways; a Recv withdrawn by B's context
// leaves the bytes for the next Recv.
func TestRemoteClient(t *testing.T) {
	a := testkit.System(t, actors.WithRemote(""), actors.WithRemotePolicy(actors.AllowAll))
	b := testkit.System(t, actors.WithRemote(""), actors.WithRemotePolicy(actors.AllowAll))
	ctx := testkit.Context(t)
	testkit.ForEachFamily(t, func(t *testing.T, addr string) {
		l, err := tcp.ListenAt(ctx, b, a.Address(), addr)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close(ctx)
		c, err := tcp.NewClientAt(ctx, b, a.Address())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if c.PID().Address != a.Address() {
			t.Fatalf("client lives at %s, want node A %s", c.PID().Address, a.Address())
		}
		if err := c.ConnectAddrPort(ctx, l.Addr()); err != nil {
			t.Fatal(err)
		}
		s, err := l.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(ctx)

		if n, err := c.Send(ctx, []byte("ping")); err != nil || n != 4 {
			t.Fatalf("Send = %d, %v", n, err)
		}
		got, err := s.RecvExact(ctx, 4)
		if err != nil || string(got) != "ping" {
			t.Fatalf("server RecvExact = %q, %v", got, err)
		}
		// A Recv parked on A, then withdrawn by B's context.
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		_, err = c.Recv(short, 64)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("withdrawn Recv: %v, want deadline exceeded", err)
		}
		big := bytes.Repeat([]byte("pong"), 64<<10)
		if n, err := s.Send(ctx, big); err != nil || n != len(big) {
			t.Fatalf("server Send = %d, %v", n, err)
		}
		got, err = c.RecvExact(ctx, len(big))
		if err != nil || !bytes.Equal(got, big) {
			t.Fatalf("client RecvExact: %d bytes, %v", len(got), err)
		}
	})
}

// TestRemoteRegister: a push-mode server on node A sends each connection's
// events to an actor on node B (tcp.Register with B's PID), which echoes
// through messages to the connection's PID on A and closes after the
// peer's FIN: a client that sends and half-closes gets its echo.
func TestRemoteRegister(t *testing.T) {
	a := testkit.System(t, actors.WithRemote(""), actors.WithRemotePolicy(actors.AllowAll))
	b := testkit.System(t, actors.WithRemote(""), actors.WithRemotePolicy(actors.AllowAll))
	ctx := testkit.Context(t)
	echo := b.Root().Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *messages.Received:
			ctx.Send(ctx.Sender(), &messages.Write{Data: m.GetData(), Credit: 1})
		case *messages.PeerClosed:
			ctx.Send(ctx.Sender(), &messages.Close{})
		}
	}))
	t.Cleanup(func() { b.Root().Stop(echo) })
	l, err := tcp.Serve(ctx, a, "127.0.0.1:0", tcp.Register(echo))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	c, err := net.DialTimeout("tcp", l.Addr().String(), testkit.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testkit.Timeout))
	msg := bytes.Repeat([]byte("remote "), 1000)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo through node B: %d of %d bytes, %v", len(got), len(msg), err)
	}
}
