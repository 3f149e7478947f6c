package tcp

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/actornet/actornet/actors"
)

// TestRecvKeepsWhatItReadPast: a read of a few bytes takes what the
// socket holds and keeps the rest for the next requests, Recv and
// RecvExact alike, in order, up to the end of the stream.
func TestRecvKeepsWhatItReadPast(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		srv := goServer(t, addr, func(c net.Conn) {
			defer c.Close()
			_, _ = c.Write([]byte("abcdefghijklmnop"))
		})
		c := dial(t, sys, srv)
		ctx := testCtx(t)
		var got []byte
		for _, n := range []int{3, 5} {
			p, err := c.RecvExact(ctx, n)
			if err != nil || len(p) != n {
				t.Fatalf("RecvExact(%d) = %q, %v", n, p, err)
			}
			got = append(got, p...)
		}
		for {
			p, err := c.Recv(ctx, 3)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil || len(p) == 0 || len(p) > 3 {
				t.Fatalf("Recv(3) = %q, %v", p, err)
			}
			got = append(got, p...)
		}
		if string(got) != "abcdefghijklmnop" {
			t.Fatalf("read %q, want the stream whole and in order", got)
		}
		if p, err := c.RecvExact(ctx, 1); !errors.Is(err, io.EOF) || len(p) != 0 {
			t.Fatalf("RecvExact after the end = %q, %v; want io.EOF", p, err)
		}
	})
}

// TestRecvMixedSizesKeepTheStream: a stream the server writes in chunks
// of every size comes out whole through reads of every size, those that
// read through the scratch buffer and keep the rest and those that read
// straight into their own.
func TestRecvMixedSizesKeepTheStream(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	want := make([]byte, 4<<20)
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	sys := newSystem(t)
	srv := goServer(t, "127.0.0.1:0", func(c net.Conn) {
		defer c.Close()
		r := rand.New(rand.NewPCG(3, 4))
		for off := 0; off < len(want); {
			n := min(len(want)-off, 1+r.IntN(100<<10))
			if _, err := c.Write(want[off : off+n]); err != nil {
				return
			}
			off += n
		}
	})
	c := dial(t, sys, srv)
	ctx := testCtx(t)
	got := make([]byte, 0, len(want))
	sizes := []int{1, 7, 64, 1000, directRead - 1, directRead, directRead + 1, 40 << 10, 64 << 10, 200 << 10}
	for i := 0; len(got) < len(want); i++ {
		n := min(sizes[i%len(sizes)], len(want)-len(got))
		var p []byte
		var err error
		if i%3 == 2 {
			p, err = c.Recv(ctx, n)
		} else {
			p, err = c.RecvExact(ctx, n)
			if err == nil && len(p) != n {
				t.Fatalf("RecvExact(%d) returned %d bytes", n, len(p))
			}
		}
		if err != nil {
			t.Fatalf("read %d at byte %d: %v", n, len(got), err)
		}
		got = append(got, p...)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && got[i] == want[i] {
			i++
		}
		t.Fatalf("the stream differs from byte %d of %d", i, len(want))
	}
	if _, err := c.Recv(ctx, 1); !errors.Is(err, io.EOF) {
		t.Fatalf("Recv after the stream: %v; want io.EOF", err)
	}
}

// TestQuietReadsWaitForTheReady: once a read has found the socket
// drained, a request that comes before anything else has (here each
// answer is written only once its request is queued) waits for the
// poller's Ready instead of asking the kernel for an EAGAIN, once a few
// early reads have missed (earlyReads), but for one probe in 16.
func TestQuietReadsWaitForTheReady(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		asked := make(chan struct{})
		srv := goServer(t, addr, func(c net.Conn) {
			defer c.Close()
			msg := bytes.Repeat([]byte("r"), 64)
			for range asked {
				if _, err := c.Write(msg); err != nil {
					return
				}
			}
		})
		c := dial(t, sys, srv)
		ctx := testCtx(t)
		const rounds = 200
		for i := range rounds {
			f := c.RecvExactAsync(64, 0)
			asked <- struct{}{}
			if res, err := f.Wait(ctx); err != nil || len(res.GetData()) != 64 || res.GetStatus().Err() != nil {
				t.Fatalf("round %d: %v, %v", i, res, err)
			}
		}
		close(asked)
		// Without the wait every round reads the socket empty first:
		// 200. With it: the misses that turn earlyReads off, then the
		// probes (about 8 + 192/16).
		if n := c.local.emptyReads.Load(); n > rounds/5 {
			t.Fatalf("%d of %d requests read the socket empty first", n, rounds)
		}
	})
}

// TestPollSeesWhatRecvKept: bytes a read took past its request are
// readable to Poll, as they were while in the kernel, and after the
// peer's close Poll says closed only once they are taken.
func TestPollSeesWhatRecvKept(t *testing.T) {
	for _, closes := range []bool{false, true} {
		sys := newSystem(t)
		written := make(chan struct{})
		srv := goServer(t, "127.0.0.1:0", func(c net.Conn) {
			defer c.Close()
			_, _ = c.Write([]byte("abcdef"))
			close(written)
			if !closes {
				var b [1]byte
				_, _ = c.Read(b[:])
			}
		})
		c := dial(t, sys, srv)
		ctx := testCtx(t)
		<-written
		if p, err := c.Recv(ctx, 3); err != nil || string(p) != "abc" {
			t.Fatalf("closes %v: Recv(3) = %q, %v", closes, p, err)
		}
		if _, err := c.Info(ctx); err != nil { // orders this goroutine after the read's turn
			t.Fatal(err)
		}
		t.Logf("closes %v: the client kept %d bytes", closes, len(c.local.carry))
		if st, err := c.Poll(ctx, actors.PollRead); st != actors.PollEvent {
			t.Fatalf("closes %v: Poll(PollRead) with 3 bytes left = %v, %v; want PollEvent", closes, st, err)
		}
		if p, err := c.Recv(ctx, 3); err != nil || string(p) != "def" {
			t.Fatalf("closes %v: Recv(3) = %q, %v", closes, p, err)
		}
		if closes {
			if st, err := c.Poll(ctx, actors.PollRead); st != actors.PollClosed {
				t.Fatalf("Poll(PollRead) after the stream = %v, %v; want PollClosed", st, err)
			}
		}
	}
}
