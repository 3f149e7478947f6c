package udp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/test/testkit"
)

// echo sends each datagram back to its sender.
var echo = HandlerFunc(func(c *Conn, msg any) {
	if d, ok := msg.(*messages.Datagram); ok {
		if err := c.SendTo(c.From(), d.GetData()); err != nil {
			panic(err)
		}
	}
})

// serve starts a push-mode peer closed at cleanup.
func serve(t testing.TB, sys *actors.System, addr string, h Handler, opts ...ServeOption) *Peer {
	t.Helper()
	p, err := Serve(testCtx(t), sys, addr, h, opts...)
	if err != nil {
		t.Fatalf("Serve %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// roundTrip sends msg from c to the peer at to and expects it back.
func roundTrip(t *testing.T, c *Peer, to netip.AddrPort, msg []byte) {
	t.Helper()
	ctx := testCtx(t)
	if _, err := c.SendTo(ctx, to, msg); err != nil {
		t.Fatal(err)
	}
	d, err := recvFrom(ctx, c, MaxDatagram+1)
	if err != nil || !bytes.Equal(d.Data, msg) || d.From != to {
		t.Fatalf("echo of %d bytes: got %d bytes from %v, %v", len(msg), len(d.Data), d.From, err)
	}
}

// TestServePushEcho: a plain handler echoes on both families, the largest
// datagram of each family included; RecvFrom is refused on a push-mode
// peer.
func TestServePushEcho(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		srv := serve(t, sys, addr, echo, WithReadSize(MaxDatagram))
		c := bind(t, sys, addr)
		for i := range 100 {
			roundTrip(t, c, srv.LocalAddr(), []byte{'m', 'a', 'r', 'c', 'o', byte(i)})
		}
		largest := maxPayload4
		if srv.LocalAddr().Addr().Is6() {
			largest = maxPayload6
		}
		big := make([]byte, largest)
		for i := range big {
			big[i] = byte(i * 7)
		}
		roundTrip(t, c, srv.LocalAddr(), big)
		if _, _, err := srv.RecvFrom(testCtx(t), 16); err == nil {
			t.Fatal("RecvFrom on a push-mode peer succeeded")
		}
	})
}

// TestServePushTruncation: a datagram longer than the read size reaches
// the handler cut, flagged, and counted.
func TestServePushTruncation(t *testing.T) {
	sys := newSystem(t)
	got := make(chan string, 1)
	srv := serve(t, sys, "127.0.0.1:0", HandlerFunc(func(c *Conn, msg any) {
		if d, ok := msg.(*messages.Datagram); ok {
			got <- string(d.GetData()) + map[bool]string{true: " (truncated)"}[d.GetTruncated()]
		}
	}), WithReadSize(4))
	c := bind(t, sys, "127.0.0.1:0")
	ctx := testCtx(t)
	c.SendTo(ctx, srv.LocalAddr(), []byte("truncated"))
	if s := <-got; s != "trun (truncated)" {
		t.Fatalf("handler got %q", s)
	}
	if st, err := srv.Stats(ctx); err != nil || st.GetTruncated() != 1 || st.GetReceived() != 1 {
		t.Fatalf("Stats = %v, %v", st, err)
	}
}

// probe asks a handler how many datagrams it has seen; resume asks it to
// resume reading.
type (
	probe  struct{}
	resume struct{}
)

// pauser pauses reading on "pause" and resumes on a resume message; it
// answers a probe with its count.
type pauser struct{ seen int }

func (p *pauser) Receive(c *Conn, msg any) {
	switch m := msg.(type) {
	case *messages.Datagram:
		p.seen++
		if string(m.GetData()) == "pause" {
			c.PauseReading()
		}
		c.SendTo(c.From(), m.GetData())
	case probe:
		c.Respond(p.seen)
	case resume:
		c.ResumeReading()
	}
}

func askSeen(t *testing.T, sys *actors.System, pid *actor.PID) int {
	t.Helper()
	res, err := sys.Root().RequestFuture(pid, probe{}, testTimeout).Result()
	if err != nil {
		t.Fatal(err)
	}
	return res.(int)
}

// TestServePushPauseResume: a handler that pauses reads nothing more,
// whatever arrives, until a message to its peer makes it resume; then the
// waiting datagrams come, all and in order, over several read batches.
func TestServePushPauseResume(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		srv := serve(t, sys, addr, PerSocket(func() Handler { return &pauser{} }))
		c := bind(t, sys, addr)
		roundTrip(t, c, srv.LocalAddr(), []byte("pause"))
		ctx := testCtx(t)
		const waiting = 100 // more than a read batch
		for i := range waiting {
			if _, err := c.SendTo(ctx, srv.LocalAddr(), fmt.Appendf(nil, "%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		if n := askSeen(t, sys, srv.PID()); n != 1 {
			t.Fatalf("a paused handler saw %d datagrams, want 1", n)
		}
		sys.Root().Send(srv.PID(), resume{})
		for i := range waiting {
			d, err := recvFrom(ctx, c, 16)
			if want := fmt.Sprint(i); err != nil || string(d.Data) != want {
				t.Fatalf("after resume: %q, %v; want %q", d.Data, err, want)
			}
		}
		if n := askSeen(t, sys, srv.PID()); n != 1+waiting {
			t.Fatalf("seen %d, want %d", n, 1+waiting)
		}
	})
}

// TestServePushDrops: while the handler keeps reading paused, the kernel
// drops what its small buffer cannot hold; once reading resumes every
// datagram is accounted for: received + dropped = sent.
func TestServePushDrops(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		ctx := testCtx(t)
		got := make(chan string, 4096)
		h := HandlerFunc(func(c *Conn, msg any) {
			switch m := msg.(type) {
			case *messages.Datagram:
				if string(m.GetData()) == "pause" {
					c.PauseReading()
				}
				got <- string(m.GetData())
			case resume:
				c.ResumeReading()
			}
		})
		srv := serve(t, sys, addr, h, WithBuffers(4096, 0))
		c := bind(t, sys, addr)
		const sent = 2000
		c.SendTo(ctx, srv.LocalAddr(), []byte("pause"))
		<-got
		payload := make([]byte, 200)
		for range sent - 1 {
			if _, err := c.SendTo(ctx, srv.LocalAddr(), payload); err != nil {
				t.Fatal(err)
			}
		}
		if st, err := srv.Stats(ctx); err != nil || st.GetReceived() != 1 {
			t.Fatalf("Stats = %v, %v; want 1 received while paused", st, err)
		}
		// Resume, then send a marker: the drop count rides on it.
		sys.Root().Send(srv.PID(), resume{})
		if _, err := c.SendTo(ctx, srv.LocalAddr(), []byte("marker")); err != nil {
			t.Fatal(err)
		}
		for s := ""; s != "marker"; {
			select {
			case s = <-got:
			case <-time.After(testTimeout):
				t.Fatal("the marker never reached the handler")
			}
		}
		st, err := srv.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.GetDrops() == 0 || st.GetReceived()+st.GetDrops() != sent+1 {
			t.Fatalf("Stats = %v; want drops > 0 and received + drops = %d", st, sent+1)
		}
		key := actors.MetricKey{Kind: "udp.peer", Service: srv.LocalAddr().String()}
		if m := sys.Metrics().Sockets[key]; m.Drops != st.GetDrops() || m.BytesIn == 0 || m.Open != 1 {
			t.Fatalf("Metrics[%v] = %+v; want the %d drops Stats reports", key, m, st.GetDrops())
		}
	})
}

// TestServePushHandlerClose: a handler that closes its peer gets Closed
// last and the peer stops; a peer closed from outside tells its handler
// Closed too.
func TestServePushHandlerClose(t *testing.T) {
	for _, inside := range []bool{true, false} {
		t.Run(map[bool]string{true: "by the handler", false: "by Peer.Close"}[inside], func(t *testing.T) {
			sys := newSystem(t)
			events := make(chan any, 8)
			srv := serve(t, sys, "127.0.0.1:0", HandlerFunc(func(c *Conn, msg any) {
				events <- msg
				if d, ok := msg.(*messages.Datagram); ok && string(d.GetData()) == "quit" {
					if err := c.Close(); err != nil {
						events <- err
					}
					if err := c.Close(); !errors.Is(err, net.ErrClosed) {
						events <- fmt.Errorf("a second Close: %v", err)
					}
					if err := c.SendTo(c.From(), []byte("x")); !errors.Is(err, net.ErrClosed) {
						events <- fmt.Errorf("SendTo after Close: %v", err)
					}
				}
			}))
			ctx := testCtx(t)
			if inside {
				c := bind(t, sys, "127.0.0.1:0")
				c.SendTo(ctx, srv.LocalAddr(), []byte("quit"))
				if _, ok := (<-events).(*messages.Datagram); !ok {
					t.Fatal("the handler's first message was not the datagram")
				}
			} else if err := srv.Close(ctx); err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-events:
				if _, ok := m.(*messages.Closed); !ok {
					t.Fatalf("the handler got %T %v, want Closed", m, m)
				}
			case <-time.After(testTimeout):
				t.Fatal("the handler never got Closed")
			}
			testkit.WaitStopped(t, sys, srv.PID())
			if _, err := srv.Info(ctx); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("the closed peer answered %v; want closed", err)
			}
		})
	}
}

// TestServePushEmptyDatagram: an empty datagram is a datagram: the handler
// gets it, and an empty SendTo sends one back (as Go's net does).
func TestServePushEmptyDatagram(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		srv := serve(t, sys, addr, echo)
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(srv.LocalAddr()))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(testTimeout))
		if _, err := c.Write(nil); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 16)
		if n, err := c.Read(buf); err != nil || n != 0 {
			t.Fatalf("echo of an empty datagram: %d bytes, %v; want an empty datagram", n, err)
		}
	})
}
