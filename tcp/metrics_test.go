package tcp

import (
	"bytes"
	"context"
	"testing"
	"time"

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
	connSock := actors.SocketOf(sys, connPID)
	if _, err := connSock.SocketStats(ctx); err != nil {
		t.Fatal(err)
	}
	service := l.Addr().String()
	conn := actors.MetricKey{Kind: "tcp.conn", Service: service}
	m := sys.Metrics()
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
	if got := sys.Metrics()[conn]; got.Open != 0 || got.BytesIn != uint64(len(msg)) {
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
}

// exported returns the value of an int64 sum for kind and service.
func exported(t *testing.T, rm metricdata.ResourceMetrics, name, kind, service string) int64 {
	t.Helper()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				t.Fatalf("%s is %T", name, m.Data)
			}
			for _, dp := range sum.DataPoints {
				k, _ := dp.Attributes.Value("kind")
				s, _ := dp.Attributes.Value("service")
				if k.AsString() == kind && s.AsString() == service {
					return dp.Value
				}
			}
		}
	}
	t.Fatalf("no %s for %s %s", name, kind, service)
	return 0
}
