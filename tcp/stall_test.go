package tcp

import (
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/test/testkit"
)

// floodBudget is the stall budget of the flood tests: three times the
// default, so that a batch of reads (under -race, on a loaded machine)
// never looks like a stall, while a read loop that did not give its
// poller back would hold it for the whole flood of three budgets.
const floodBudget = 3 * actors.DefaultStallBudget

// TestServeFloodIsNotAStall: a client that sends as fast as it can keeps
// a connection's socket from running dry for as long as it sends. The
// connection reads a bounded number of times per readiness and gives its
// poller back between, so the watchdog (one poller, a budget of floodBudget) sees
// deliveries complete and never takes a handler that only discards, or
// only writes back, for a blocking one.
func TestServeFloodIsNotAStall(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply bool
	}{
		{name: "discard"},
		{name: "echo", reply: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := newSystem(t, actors.WithPollers(1), actors.WithStallBudget(floodBudget))
			stalls := testkit.Stalls(t, sys)
			var handled atomic.Int64
			l := serve(t, sys, "127.0.0.1:0", HandlerFunc(func(c *Conn, msg any) {
				if m, ok := msg.(*messages.Received); ok {
					handled.Add(int64(len(m.GetData())))
					if tc.reply {
						c.Write(m.GetData())
					}
				}
			}))
			nc, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer nc.Close()
			read := make(chan int64, 1)
			go func() {
				n, _ := io.Copy(io.Discard, nc) // the echo, until the client closes
				read <- n
			}()
			buf := make([]byte, 1<<20)
			var sent int64
			for end := time.Now().Add(3 * floodBudget); time.Now().Before(end); { // a flood of 3 stall budgets
				n, err := nc.Write(buf)
				if err != nil {
					t.Fatalf("write: %v", err)
				}
				sent += int64(n)
			}
			if err := nc.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			select {
			case n := <-read:
				t.Logf("sent %d MiB, handled %d MiB, read back %d MiB", sent>>20, handled.Load()>>20, n>>20)
				if tc.reply && n != sent {
					t.Errorf("read back %d bytes; want %d", n, sent)
				}
			case <-time.After(testTimeout):
				t.Fatal("the connection did not close after the client's FIN")
			}
			// The bound itself, whatever the clock: at most readsPerReady
			// reads per Ready delivered (a redelivery counts as one; an
			// echo reads again when its writes drain).
			reads, ready := testkit.ReadsPerReady(sys, actors.MetricKey{Kind: "tcp.conn", Service: l.Addr().String()})
			if reads == 0 || reads > readsPerReady*ready {
				t.Errorf("%d reads in %d Ready deliveries: want some, and at most %d per delivery", reads, ready, readsPerReady)
			}
			select {
			case s := <-stalls:
				t.Fatalf("Stalled %+v for a handler that never blocks", s)
			case <-time.After(2 * floodBudget):
				// longer than the watchdog takes to report a delivery that began during the flood
			}
		})
	}
}

// TestServeSpinningHandlerIsAStall: a handler that computes without end
// holds its poller as surely as one that blocks. With one P it is always
// waiting for the CPU when the watchdog looks (the watchdog has the P
// then), as a starved delivery is; the grace the watchdog gives those
// ends, and the spinning one is moved off its poller all the same.
func TestServeSpinningHandlerIsAStall(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	sys := newSystem(t, actors.WithPollers(1), actors.WithStallBudget(20*time.Millisecond))
	stalls := testkit.Stalls(t, sys)
	var spin atomic.Bool
	spin.Store(true)
	spinning := make(chan struct{}, 1)
	l := serve(t, sys, "127.0.0.1:0", HandlerFunc(func(c *Conn, msg any) {
		if _, ok := msg.(*messages.Received); !ok {
			return
		}
		spinning <- struct{}{}
		for n := 0; spin.Load(); n++ {
		}
	}))
	c := dialWithin(t, l.Addr().String(), "x")
	defer c.Close()
	<-spinning
	select {
	case s := <-stalls:
		if s.Service != l.Addr().String() {
			t.Errorf("Stalled = %+v; want the connection of %s", s, l.Addr())
		}
	case <-time.After(testTimeout):
		t.Error("no Stalled event while a handler spun on its poller")
	}
	spin.Store(false)
}
