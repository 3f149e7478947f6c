package poller

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The bound on what a registration's receive takes (uring_recv_linux.go):
// a multishot receive armed with a byte limit ends within the kernel once
// it has taken that much, however fast the peer sends and however late
// the loop reaps.

// rxState is what a registration's queue holds: completions, bytes, and
// whether the receive has ended (its end queued).
func rxState(r *Registration) (entries, nbytes int, ended bool) {
	x := r.rx
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, e := range x.q[x.head:] {
		if e.hasBuf {
			entries++
			nbytes += len(e.data)
		}
		ended = ended || e.end
	}
	return entries, nbytes, ended
}

// flood writes chunks of data to fd until the socket is full (EAGAIN) or
// max bytes went, and returns what went.
func flood(t *testing.T, fd int, data []byte, max int) int {
	t.Helper()
	sent := 0
	for sent < max {
		n, err := unix.Write(fd, data[sent%len(data):])
		if err == unix.EAGAIN {
			return sent
		}
		if err != nil {
			t.Fatal(err)
		}
		sent += n
	}
	return sent
}

// TestURingRecvLimitBoundsPausedOwner: an owner that takes nothing
// (paused) and a peer that sends as fast as the socket takes it: the
// poller's receive takes at most the registration's limit of bytes (plus
// what one last receive may take beyond it) and then ends by itself, the
// rest staying in the socket; once the owner takes what is queued and
// reads the rest itself, every byte arrives, in order, and every buffer
// comes back.
func TestURingRecvLimitBoundsPausedOwner(t *testing.T) {
	for _, limit := range []int{1, 2, 8} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			p, ch := newRecvPoller(t, uringBufCount)
			a, b := socketpair(t)
			r := registerRecvLimit(t, p, a, limit)
			r.Unwant(Readable) // paused: no Ready, nothing taken
			want := pattern(1 << 20)
			// The peer fills the socket; the receive ends at its limit
			// whenever the loop reaps (more is written meanwhile).
			sent := 0
			deadline := time.Now().Add(5 * time.Second)
			for {
				sent += flood(t, b, want, len(want)-sent)
				if _, _, ended := rxState(r); ended {
					break
				}
				if time.Now().After(deadline) || sent == len(want) {
					n, nb, _ := rxState(r)
					t.Fatalf("the receive did not end: %d completions, %d bytes queued, %d sent", n, nb, sent)
				}
				runtime.Gosched()
			}
			// Ended: no completion comes for it any more until it is
			// armed again, so what it took is final.
			bound := limit*RecvBufSize + RecvBufSize - 1
			n, nb, _ := rxState(r)
			if nb > bound {
				t.Fatalf("the receive took %d bytes in %d completions for a paused owner; want at most %d (limit %d buffers)", nb, n, bound, limit)
			}
			if out := p.RecvBuffersOut(); out != n || int(r.rx.out.Load()) != n {
				t.Fatalf("RecvBuffersOut = %d, the registration's %d; want %d, one a completion", out, r.rx.out.Load(), n)
			}
			// The peer's writes stopped at a full socket: the rest waits
			// there, under flow control. Take it all.
			r.Want(Readable)
			r.Again(Readable)
			var got []byte
			for len(got) < len(want) {
				g, _, _ := collect(t, r, ch, a, 1, true)
				got = append(got, g...)
				if sent < len(want) {
					sent += flood(t, b, want[sent:], len(want)-sent)
				}
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("received %d bytes, not what was sent (%d)", len(got), len(want))
			}
			if err := r.Deregister(); err != nil {
				t.Fatal(err)
			}
			if out := p.RecvBuffersOut(); out != 0 {
				t.Fatalf("RecvBuffersOut = %d; want 0", out)
			}
		})
	}
}
