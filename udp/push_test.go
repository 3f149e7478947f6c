package udp

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
)

// datagrams is a push-mode test handler that reports each Datagram and
// runs act on it.
func datagrams(got chan *messages.Datagram, act func(ctx actor.Context, d *messages.Datagram)) *actor.Props {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		if d, ok := ctx.Message().(*messages.Datagram); ok {
			select {
			case got <- d:
			default:
			}
			if act != nil {
				act(ctx, d)
			}
		}
	})
}

func echo(ctx actor.Context, d *messages.Datagram) {
	if string(d.GetData()) == "quit" {
		ctx.Stop(ctx.Self())
		return
	}
	ctx.Send(ctx.Parent(), &messages.SendTo{Peer: d.GetSender(), Data: d.GetData()})
	ctx.Send(ctx.Parent(), &messages.ResumeReading{Credit: 1})
}

func TestServePushEcho(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		ctx := testCtx(t)
		got := make(chan *messages.Datagram, 16)
		srv, err := Serve(ctx, sys, addr, datagrams(got, echo))
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close(context.Background())
		c := bind(t, sys, addr)
		for i := 0; i < 100; i++ { // beyond the initial credit: ResumeReading works
			if _, err := c.SendTo(ctx, srv.LocalAddr(), []byte("marco"), time.Second); err != nil {
				t.Fatal(err)
			}
			d, err := c.RecvFrom(ctx, 16, 5*time.Second)
			if err != nil || string(d.Data) != "marco" || d.From != srv.LocalAddr() {
				t.Fatalf("echo %d = %+v, %v", i, d, err)
			}
		}
		if d := <-got; d.GetTruncated() {
			t.Fatal("a short datagram flagged truncated")
		}
		// RecvFrom is refused on a push-mode peer.
		if _, err := srv.RecvFrom(ctx, 16, time.Second); err == nil {
			t.Fatal("RecvFrom on a push-mode peer succeeded")
		}
	})
}

// TestServePushCreditAndDrops: a handler that grants no credit gets
// exactly its credit of Datagrams; the kernel buffers and then drops the
// rest, and once the handler grants credit every datagram is accounted
// for: received + dropped = sent.
func TestServePushCreditAndDrops(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		ctx := testCtx(t)
		got := make(chan *messages.Datagram, 4096)
		const credit, sent = 4, 2000
		srv, err := Serve(ctx, sys, addr, datagrams(got, nil), WithReadCredit(credit), WithSocketOptions(WithBuffers(4096, 0)))
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close(context.Background())
		c := bind(t, sys, addr)
		payload := make([]byte, 200)
		for i := 0; i < sent; i++ {
			if _, err := c.SendTo(ctx, srv.LocalAddr(), payload, time.Second); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < credit; i++ {
			<-got
		}
		st, err := srv.Stats(ctx)
		if err != nil || st.GetReceived() != credit {
			t.Fatalf("Stats = %v, %v; want exactly the credit (%d) received", st, err, credit)
		}
		// Grant plenty, then send a marker: the drop count rides on it.
		sys.Root().Send(srv.PID(), &messages.ResumeReading{Credit: 1 << 20})
		if _, err := c.SendTo(ctx, srv.LocalAddr(), []byte("marker"), time.Second); err != nil {
			t.Fatal(err)
		}
		for {
			d := <-got
			if string(d.GetData()) == "marker" {
				break
			}
		}
		st, err = srv.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.GetDrops() == 0 || st.GetReceived()+st.GetDrops() != sent+1 {
			t.Fatalf("Stats = %v; want drops > 0 and received + drops = %d", st, sent+1)
		}
		key := actors.MetricKey{Kind: "udp.peer", Service: srv.LocalAddr().String()}
		if m := sys.Metrics()[key]; m.Drops != st.GetDrops() || m.BytesIn == 0 || m.Open != 1 {
			t.Fatalf("Metrics[%v] = %+v; want the %d drops Stats reports", key, m, st.GetDrops())
		}
	})
}

func TestServePushHandlerDeathClosesPeer(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	got := make(chan *messages.Datagram, 16)
	srv, err := Serve(ctx, sys, "127.0.0.1:0", datagrams(got, echo))
	if err != nil {
		t.Fatal(err)
	}
	c := bind(t, sys, "127.0.0.1:0")
	c.SendTo(ctx, srv.LocalAddr(), []byte("quit"), time.Second)
	<-got
	waitStopped(t, sys, srv.PID())
	if _, err := srv.Info(ctx); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("the peer after its handler stopped answered %v; want closed", err)
	}
}

// waitStopped waits, with a watcher actor, until the actor at pid stops.
func waitStopped(t *testing.T, sys *actors.System, pid *actor.PID) {
	t.Helper()
	stopped := make(chan struct{})
	watcher := sys.Root().Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case *actor.Started:
			ctx.Watch(pid)
		case *actor.Terminated:
			close(stopped)
		}
	}))
	defer sys.Root().Stop(watcher)
	select {
	case <-stopped:
	case <-time.After(testTimeout):
		t.Fatal("the actor never stopped")
	}
}
