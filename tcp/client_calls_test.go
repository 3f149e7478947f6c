package tcp

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
)

// The blocking calls recycle their requests (client_calls.go). Here
// every other receive is cancelled while its echo is in flight, so that
// answers and withdrawals race; the receives in between, whose context
// never ends, must each get their own bytes, in order, never a
// cancellation or the bytes of another, whichever won each race and
// whatever the recycled calls carried over. (That a withdrawal still on
// its way cannot reach a recycled call is Reusable's rule, tested in
// actors.)
func TestClientRecycledCallsOutliveWithdrawals(t *testing.T) {
	sys := newSystem(t)
	c := dial(t, sys, goServer(t, "127.0.0.1:0", echo))
	ctx := testCtx(t)
	var want, got [4]byte
	raced := 0
	for i := range 3000 {
		binary.BigEndian.PutUint32(want[:], uint32(i))
		if _, err := c.Send(ctx, want[:]); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		n := 0
		if i%2 == 0 {
			short, cancel := context.WithCancel(ctx)
			go cancel() // ends the receive at some point of its wait
			p, err := c.RecvExact(short, len(want))
			switch {
			case err == nil:
				raced++
			case errors.Is(err, context.Canceled):
			default:
				t.Fatalf("receive %d (cancelled): %v", i, err)
			}
			n = copy(got[:], p)
		}
		if n < len(want) {
			p, err := c.RecvExact(ctx, len(want)-n)
			if err != nil {
				t.Fatalf("receive %d, which no context ended: %v (a withdrawal of an earlier receive took it?)", i, err)
			}
			copy(got[n:], p)
		}
		if got != want {
			t.Fatalf("receive %d got %x, want %x", i, got, want)
		}
	}
	t.Logf("%d of 1500 cancelled receives got their bytes first", raced)
}
