package udp

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/test/testkit"
)

// floodFor is how long the stall tests flood a peer.
const floodFor = time.Second

// floodBudget is the stall budget of the flood test: three times the
// default, so that a batch of datagrams (under -race, on a loaded
// machine) never looks like a stall, while a read loop that did not give
// its poller back would hold it for the whole flood, several budgets.
const floodBudget = 3 * actors.DefaultStallBudget

// TestServeFloodIsNotAStall: a datagram flood to a handler that never
// blocks keeps the peer's socket from running dry for as long as it
// lasts. The peer reads a batch per readiness and gives its poller back
// between batches, so the watchdog (one poller, a budget of floodBudget) sees
// deliveries complete and never takes the handler for a blocking one.
func TestServeFloodIsNotAStall(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply bool
	}{
		{name: "echo", reply: true},
		{name: "discard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := newSystem(t, actors.WithPollers(1), actors.WithStallBudget(floodBudget))
			stalls := testkit.Stalls(t, sys)
			var handled atomic.Int64
			p := serve(t, sys, "127.0.0.1:0", HandlerFunc(func(c *Conn, msg any) {
				if d, ok := msg.(*messages.Datagram); ok {
					handled.Add(1)
					if tc.reply {
						_ = c.SendTo(c.From(), d.GetData()) // the flooders do not read: a full queue is no matter
					}
				}
			}))
			sent := flood(t, p.LocalAddr().String(), 2, floodFor)
			st, err := p.Stats(testCtx(t))
			if err != nil {
				t.Fatalf("stats: %v", err)
			}
			t.Logf("sent %d, handled %d, drops %d", sent, handled.Load(), st.GetDrops())
			if handled.Load() == 0 {
				t.Fatal("the handler got no datagram")
			}
			// The bound itself, whatever the clock: at most readBatch reads
			// per Ready delivered (a redelivery counts as one).
			reads, ready := testkit.ReadsPerReady(sys, actors.MetricKey{Kind: "udp.peer", Service: p.LocalAddr().String()})
			if reads == 0 || reads > readBatch*ready {
				t.Errorf("%d reads in %d Ready deliveries: want some, and at most %d per delivery", reads, ready, readBatch)
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

// flood sends 64-byte datagrams to addr from n sockets for d, never
// reading, and returns how many it sent.
func flood(t *testing.T, addr string, n int, d time.Duration) int {
	t.Helper()
	var (
		wg   sync.WaitGroup
		sent atomic.Int64
	)
	end := time.Now().Add(d)
	for range n {
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		wg.Go(func() {
			defer c.Close()
			b := make([]byte, 64)
			for time.Now().Before(end) {
				if _, err := c.Write(b); err == nil {
					sent.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return int(sent.Load())
}
