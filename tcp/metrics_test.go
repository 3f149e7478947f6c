package tcp

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/test/testkit"
)

// TestMetrics: after an echo of 100 KiB through a push-mode listener, the
// system's Metrics and the OpenTelemetry export agree on what the service
// moved and accepted, and a closed connection's bytes stay counted.
func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	sys, err := actors.Start(actors.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.StopNow() })
	ctx := testCtx(t)
	events := make(chan any, 1024)
	l := serve(t, sys, "127.0.0.1:0", testHandler(events, echoing))
	c := dial(t, sys, l.Addr().String())
	connPID := next[*messages.Connected](t, events).GetConnection().PID()
	msg := bytes.Repeat([]byte("m"), 100<<10)
	reader2 := c.RecvExactAsync(len(msg), 10*time.Second)
	if _, err := c.Send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if _, err := reader2.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// The connection counts a write after write(2) returns, which may be
	// after the client read the bytes: a request it answers comes after.
	// On io_uring's send it counts it at the send's completion, which
	// the loop delivers in its turn: wait for that.
	connSock := actors.SocketOf(sys, connPID)
	if _, err := connSock.SocketStats(ctx); err != nil {
		t.Fatal(err)
	}
	service := l.Addr().String()
	conn := actors.MetricKey{Kind: "tcp.conn", Service: service}
	for deadline := time.Now().Add(testTimeout); sys.Metrics().Sockets[conn].BytesOut < uint64(len(msg)) && time.Now().Before(deadline); {
		runtime.Gosched()
	}
	m := sys.Metrics().Sockets
	if got := m[conn]; got.Open != 1 || got.BytesIn != uint64(len(msg)) || got.BytesOut != uint64(len(msg)) {
		t.Fatalf("Metrics[%v] = %+v, want 1 open, %d bytes each way", conn, got, len(msg))
	}
	if got := m[actors.MetricKey{Kind: "tcp.listener", Service: service}]; got.Accepted != 1 || got.Open != 1 {
		t.Fatalf("listener totals = %+v", got)
	}
	if got := m[actors.MetricKey{Kind: "tcp.client"}]; got.BytesOut != uint64(len(msg)) {
		t.Fatalf("client totals = %+v", got)
	}

	// Close the client: the server's connection ends, its counts stay.
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	testkit.WaitStopped(t, sys, connPID)
	if got := sys.Metrics().Sockets[conn]; got.Open != 0 || got.BytesIn != uint64(len(msg)) {
		t.Fatalf("after close: %+v, want the bytes still counted", got)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	bytesIn := exported(t, rm, "actornet.socket.bytes_in", "tcp.conn", service)
	accepted := exported(t, rm, "actornet.tcp.accepted", "tcp.listener", service)
	open := exported(t, rm, "actornet.sockets.open", "tcp.conn", service)
	if bytesIn != int64(len(msg)) || accepted != 1 || open != 0 {
		t.Fatalf("exported bytes_in %d, accepted %d, open %d; want %d, 1, 0", bytesIn, accepted, open, len(msg))
	}

	// The pollers' counters are exported beside the sockets': the echo
	// came by readable events, and the listener is still watched.
	var readable, regs int64
	for i := range sys.Metrics().Pollers {
		name := actors.PollerName(i)
		readable += exportedWith(t, rm, "actornet.poller.events", "poller", name, "direction", "readable")
		regs += exportedWith(t, rm, "actornet.poller.registrations", "poller", name)
		exportedWith(t, rm, "actornet.poller.waits", "poller", name, "mode", "blocking")
		exportedWith(t, rm, "actornet.poller.longest_iteration", "poller", name)
	}
	if readable == 0 || regs != 1 {
		t.Fatalf("exported %d readable events, %d fds watched; want some, and 1 (the listener)", readable, regs)
	}
}

// exported returns the value of an int64 sum for kind and service.
func exported(t *testing.T, rm metricdata.ResourceMetrics, name, kind, service string) int64 {
	t.Helper()
	return exportedWith(t, rm, name, "kind", kind, "service", service)
}

// exportedWith returns the value of the int64 sum or gauge name whose
// attributes include the given key, value pairs.
func exportedWith(t *testing.T, rm metricdata.ResourceMetrics, name string, kv ...string) int64 {
	t.Helper()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			var points []metricdata.DataPoint[int64]
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				points = d.DataPoints
			case metricdata.Gauge[int64]:
				points = d.DataPoints
			default:
				t.Fatalf("%s is %T", name, m.Data)
			}
		next:
			for _, dp := range points {
				for i := 0; i+1 < len(kv); i += 2 {
					if v, _ := dp.Attributes.Value(attribute.Key(kv[i])); v.AsString() != kv[i+1] {
						continue next
					}
				}
				return dp.Value
			}
		}
	}
	t.Fatalf("no %s for %v", name, kv)
	return 0
}
