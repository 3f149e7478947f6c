package tcp

// Tests of push mode's flow control and limits: lent read buffers, the
// idle timeout.

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/actornet/actornet/messages"
)

// TestServeLentReads: an echo of 8 MiB sent before the client reads any
// (so that writes queue) comes back intact: reads go into pooled buffers
// lent for the call, and what the connection queues of lent data is a
// copy.
func TestServeLentReads(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		events := make(chan any, 1024)
		l := serve(t, sys, addr, testHandler(events, echoing), WithReadSize(4096), WithWriteQueue(32<<20, 16<<20, 1<<20))
		ctx := testCtx(t)
		// A small receive buffer on the client makes the echo queue.
		c, err := Dial(ctx, sys, l.Addr().String(), WithBuffers(4096, 0))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		big := make([]byte, 8<<20)
		for i := range big {
			big[i] = byte(i * 7 / 3)
		}
		// Send it all before reading any: the echo's writes queue on the
		// server while it goes on reading into recycled buffers.
		if _, err := c.Send(ctx, big); err != nil {
			t.Fatal(err)
		}
		got, err := c.RecvExact(ctx, len(big))
		if err != nil || !bytes.Equal(got, big) {
			t.Fatalf("8 MiB echo with lent buffers: %v, equal %v", err, bytes.Equal(got, big))
		}
	})
}

// TestServeIdleTimeout: a connection that moves no bytes is closed after
// the idle timeout (its handler sees ErrorClosed for op idle with status
// timeout; its peer, end of stream), while one that keeps exchanging bytes
// stays open.
func TestServeIdleTimeout(t *testing.T) {
	t.Parallel() // waits out timeouts or other processes
	sys := newSystem(t)
	events := make(chan any, 4096)
	const idleFor = 500 * time.Millisecond
	l := serve(t, sys, "127.0.0.1:0", testHandler(events, echoing), WithIdleTimeout(idleFor))
	ctx := testCtx(t)
	busy := dial(t, sys, l.Addr().String())
	quiet := dial(t, sys, l.Addr().String())
	start := time.Now()
	closed := quiet.RecvAsync(16, 0)
	for {
		// The busy connection echoes a byte every 10 ms until the quiet one
		// has been closed.
		if _, err := busy.Send(ctx, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := busy.RecvExact(ctx, 1); err != nil {
			t.Fatalf("the busy connection was closed: %v", err)
		}
		select {
		case <-closed.Done():
		case <-time.After(10 * time.Millisecond):
			continue
		}
		break
	}
	res, err := closed.Wait(ctx)
	if err == nil {
		err = res.GetStatus().Err()
	}
	if !errors.Is(err, io.EOF) {
		t.Fatalf("quiet connection: %v, want end of stream", err)
	}
	if took := time.Since(start); took < idleFor {
		t.Fatalf("closed after %v, before the idle timeout %v", took, idleFor)
	}
	ec := next[*messages.ErrorClosed](t, events)
	if ec.GetCause().GetOp() != "idle" || ec.GetCause().GetCode() != messages.IOStatus_IO_STATUS_TIMEOUT {
		t.Fatalf("ErrorClosed = %v, want op idle, timeout", ec)
	}
	if _, err := busy.Send(ctx, []byte("y")); err != nil {
		t.Fatal(err)
	}
	if got, err := busy.RecvExact(ctx, 1); err != nil || string(got) != "y" {
		t.Fatalf("busy connection after: %q, %v", got, err)
	}
}
