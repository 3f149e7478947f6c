package udp

import (
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
)

// TestServiceSurvivesPeerDeath: a UDP service whose peer crashes (an
// injected fault) or is closed by its handler binds a new peer on the same
// address and answers again; Stop ends it.
func TestServiceSurvivesPeerDeath(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t, actors.WithFaultInjection())
		ctx := testCtx(t)
		h := HandlerFunc(func(c *Conn, msg any) {
			if d, ok := msg.(*messages.Datagram); ok {
				if string(d.GetData()) == "quit" {
					c.Close()
					return
				}
				c.SendTo(c.From(), d.GetData())
			}
		})
		svc, err := StartService(ctx, sys, addr, h)
		if err != nil {
			t.Fatal(err)
		}
		at := svc.Addr()
		if at.Port() == 0 {
			t.Fatalf("Addr = %v", at)
		}
		c := bind(t, sys, addr)
		roundTrip := func(what string) {
			t.Helper()
			if _, err := c.SendTo(ctx, at, []byte(what)); err != nil {
				t.Fatal(err)
			}
			d, err := recvFrom(ctx, c, 64)
			if err != nil || string(d.Data) != what || d.From != at {
				t.Fatalf("%s: RecvFrom = %+v, %v", what, d, err)
			}
		}
		restarted := make(chan *PeerRestarted, 4)
		sub := sys.Actors.EventStream.Subscribe(func(evt interface{}) {
			if r, ok := evt.(*PeerRestarted); ok {
				restarted <- r
			}
		})
		defer sys.Actors.EventStream.Unsubscribe(sub)
		waitRestart := func() {
			t.Helper()
			select {
			case r := <-restarted:
				if r.Addr != at {
					t.Fatalf("restarted on %v, want %v", r.Addr, at)
				}
			case <-time.After(testTimeout):
				t.Fatal("the service never replaced its peer")
			}
		}

		roundTrip("before")
		info, err := svc.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sys.Root().Send(info.GetListener().PID(), &messages.InjectFault{})
		waitRestart()
		roundTrip("after a crash")

		// The handler closes its peer on "quit": the service rebinds.
		if _, err := c.SendTo(ctx, at, []byte("quit")); err != nil {
			t.Fatal(err)
		}
		waitRestart()
		roundTrip("after the handler closed its peer")
		if info, err := svc.Info(ctx); err != nil || info.GetRestarts() != 2 {
			t.Fatalf("Info = %v, %v; want 2 restarts", info, err)
		}

		if err := svc.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if sys.Sockets() != 1 { // only the test's client is left
			t.Fatalf("%d socket actors after Stop, want 1", sys.Sockets())
		}
	})
}
