package tcp

import (
	"testing"
)

// BenchmarkClientRoundTrip is one 64-byte Send and RecvExact through the
// client futures API against a Go net echo server: the client side's
// allocations and time per round trip.
func BenchmarkClientRoundTrip(b *testing.B) {
	sys := newSystem(b)
	c := dial(b, sys, goServer(b, "127.0.0.1:0", echo))
	ctx := testCtx(b)
	msg := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
		if _, err := c.RecvExact(ctx, len(msg)); err != nil {
			b.Fatal(err)
		}
	}
}
