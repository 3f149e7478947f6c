package poller

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The io_uring receive path (uring_recv_linux.go): bytes come through
// NextRecv, in order, whatever ends the multishot receive; every buffer
// comes back to the ring.

// newRecvPoller starts an io_uring poller whose buffer rings provide
// entries buffers (restored at cleanup).
func newRecvPoller(t *testing.T, entries int) (*Poller, chanSender) {
	t.Helper()
	skipRefused(t, BackendIOUring)
	t.Setenv(RecvEnv, "1")
	old := bufRingEntries
	bufRingEntries = entries
	t.Cleanup(func() { bufRingEntries = old })
	return newPoller(t, BackendIOUring)
}

// registerRecv registers fd with RegisterRecv (limit MaxRecvBuffers),
// readable wanted, and fails unless the poller receives for it.
func registerRecv(t *testing.T, p *Poller, fd int) *Registration {
	t.Helper()
	return registerRecvLimit(t, p, fd, MaxRecvBuffers)
}

// registerRecvLimit is registerRecv with a limit.
func registerRecvLimit(t *testing.T, p *Poller, fd, limit int) *Registration {
	t.Helper()
	r, err := p.RegisterRecv(fd, pid, limit, Readable)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Receives() {
		t.Fatal("RegisterRecv on io_uring: Receives() = false")
	}
	return r
}

// collect takes what the poller receives for r, as an owner does, until
// it holds want bytes (release false: it keeps the buffers). It returns
// the bytes and how many times the receive stopped and was armed again.
func collect(t *testing.T, r *Registration, ch chanSender, fd, want int, release bool) (got []byte, stops int, held []uint16) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for len(got) < want {
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("received %d bytes of %d", len(got), want)
		}
		r.Consumed(Readable)
		for {
			data, id, err := r.NextRecv()
			if err == unix.EAGAIN {
				break
			}
			if errors.Is(err, ErrRecvStopped) {
				stops++
				got = readToEAGAIN(t, fd, got)
				if err := r.ArmRecv(); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("NextRecv: %v", err)
			}
			if len(data) == 0 {
				t.Fatalf("end of stream after %d bytes of %d", len(got), want)
			}
			got = append(got, data...)
			if release {
				r.ReleaseRecv(id)
			} else {
				held = append(held, id)
			}
		}
	}
	return got, stops, held
}

func readToEAGAIN(t *testing.T, fd int, got []byte) []byte {
	t.Helper()
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EAGAIN {
			return got
		}
		if err != nil || n == 0 {
			t.Fatalf("read: %d, %v", n, err)
		}
		got = append(got, buf[:n]...)
	}
}

func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i % 251)
	}
	return p
}

// TestURingRecvDelivers: bytes, then end of stream, come through
// NextRecv; the buffers all come back.
func TestURingRecvDelivers(t *testing.T) {
	p, ch := newRecvPoller(t, uringBufCount)
	a, b := socketpair(t)
	r := registerRecv(t, p, a)
	if _, _, err := r.NextRecv(); err != unix.EAGAIN {
		t.Fatalf("NextRecv before any write: %v; want EAGAIN", err)
	}
	want := []byte("hello, ring")
	if _, err := unix.Write(b, want); err != nil {
		t.Fatal(err)
	}
	got, stops, _ := collect(t, r, ch, a, len(want), true)
	if !bytes.Equal(got, want) || stops != 0 {
		t.Fatalf("got %q with %d stops; want %q, none", got, stops, want)
	}
	unix.Shutdown(b, unix.SHUT_WR)
	// The end comes with a Ready. The FIN's poll edge may bring one
	// first, before the loop has reaped the receive's end: NextRecv says
	// EAGAIN then, and the end brings the next Ready, as an owner waits
	// for it. (A move of the loop to another thread, which cancels the
	// receive, is not seen here: the loop arms it again, rearmRecvLocked.)
	for {
		recv(t, ch)
		r.Consumed(Readable)
		data, _, err := r.NextRecv()
		if err == unix.EAGAIN && len(data) == 0 {
			continue
		}
		if len(data) != 0 || err != nil {
			t.Fatalf("NextRecv after the peer's FIN: %q, %v; want end of stream", data, err)
		}
		break
	}
	if err := r.Deregister(); err != nil {
		t.Fatal(err)
	}
	if n := p.RecvBuffersOut(); n != 0 {
		t.Fatalf("RecvBuffersOut = %d after every buffer was released; want 0", n)
	}
}

// TestURingRecvRingDryLosesNothing: with the ring out of buffers (the
// owner holds them all) the receive ends with ENOBUFS; NextRecv says
// ErrRecvStopped, the owner reads the rest itself and arms the receive
// again: every byte arrives, in order.
func TestURingRecvRingDryLosesNothing(t *testing.T) {
	p, ch := newRecvPoller(t, 2)
	a, b := socketpair(t)
	r := registerRecv(t, p, a)
	want := pattern(64 << 10)
	var got []byte
	var stops int
	var held []uint16
	ringUsed := 0
	for i, off := 0, 0; off < len(want); i, off = i+1, off+1000 {
		chunk := want[off:min(off+1000, len(want))]
		if _, err := unix.Write(b, chunk); err != nil {
			t.Fatal(err)
		}
		g, s, h := collect(t, r, ch, a, len(chunk), false)
		got, stops, held = append(got, g...), stops+s, append(held, h...)
		ringUsed += len(h)
		if i%4 == 3 { // the ring runs dry for three chunks in four
			for _, id := range held {
				r.ReleaseRecv(id)
			}
			held = held[:0]
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("received %d bytes, not what was sent (%d)", len(got), len(want))
	}
	if stops == 0 || ringUsed <= 2 {
		t.Fatalf("%d stops, %d buffers used: want the ring run dry and refilled", stops, ringUsed)
	}
	for _, id := range held {
		r.ReleaseRecv(id)
	}
	if err := r.Deregister(); err != nil {
		t.Fatal(err)
	}
	if n := p.RecvBuffersOut(); n != 0 {
		t.Fatalf("RecvBuffersOut = %d; want 0", n)
	}
}

// TestURingRecvCapStops: an owner that takes nothing (paused) and a peer
// that sends small segments, each its own completion well short of the
// byte limit: the owner holds about its limit of buffers (MaxRecvBuffers)
// and no more: then the receive is cancelled, the rest stays in the
// socket, and the owner reads it after the queue.
func TestURingRecvCapStops(t *testing.T) {
	p, ch := newRecvPoller(t, uringBufCount)
	a, b := socketpair(t)
	r := registerRecv(t, p, a)
	r.Unwant(Readable) // paused: no Ready, nothing taken
	want := pattern((MaxRecvBuffers + 16) * 100)
	queued := func() (n int, ended bool) {
		r.rx.mu.Lock()
		defer r.rx.mu.Unlock()
		return len(r.rx.q), len(r.rx.q) > 0 && r.rx.q[len(r.rx.q)-1].end
	}
	deadline := time.Now().Add(5 * time.Second)
	stopped := false
	for off := 0; off < len(want); off += 100 {
		if _, err := unix.Write(b, want[off:off+100]); err != nil {
			t.Fatal(err)
		}
		// One completion per write while the receive runs (written
		// together, they would share a buffer); once it stopped, the
		// rest stays in the socket.
		for n, ended := queued(); !stopped && n <= off/100 && !ended; n, ended = queued() {
			if time.Now().After(deadline) {
				t.Fatalf("%d completions queued for %d writes", n, off/100+1)
			}
			runtime.Gosched()
		}
		_, stopped = queued()
	}
	// Wait until the receive has ended (its cancel's CQE read).
	for {
		n, ended := queued()
		if ended {
			if n > 2*MaxRecvBuffers {
				t.Fatalf("%d completions queued; want about %d", n, MaxRecvBuffers)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the receive did not stop: %d completions queued", n)
		}
		runtime.Gosched()
	}
	r.Want(Readable)
	r.Again(Readable) // the Ready dropped while paused
	got, stops, _ := collect(t, r, ch, a, len(want), true)
	if !bytes.Equal(got, want) || stops == 0 {
		t.Fatalf("got %d bytes (equal: %v) with %d stops; want %d, equal, a stop", len(got), bytes.Equal(got, want), stops, len(want))
	}
	if err := r.Deregister(); err != nil {
		t.Fatal(err)
	}
	if n := p.RecvBuffersOut(); n != 0 {
		t.Fatalf("RecvBuffersOut = %d; want 0", n)
	}
}

// TestURingRecvDeregisterReturnsBuffers: completions still queued when
// the registration goes, and bytes that arrive as it goes, give their
// buffers back; the fd is released (Remove waits for the receive's end).
func TestURingRecvDeregisterReturnsBuffers(t *testing.T) {
	p, _ := newRecvPoller(t, uringBufCount)
	fds := rawSocketpair(t)
	a, b := fds[0], fds[1]
	defer unix.Close(b)
	r := registerRecv(t, p, a)
	r.Unwant(Readable)
	for range 4 {
		if _, err := unix.Write(b, []byte("queued")); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.RecvBuffersOut() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing received")
		}
		runtime.Gosched()
	}
	if err := r.Deregister(); err != nil {
		t.Fatal(err)
	}
	unix.Close(a)
	// A completion the kernel posted as the cancel landed gives its
	// buffer back when the loop reaps it: every buffer comes back.
	for p.RecvBuffersOut() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("RecvBuffersOut = %d after Deregister; want 0", p.RecvBuffersOut())
		}
		runtime.Gosched()
	}
	// The peer sees the close at once: no request holds the file (a
	// held one would leave it EAGAIN). The end of stream may come as
	// ECONNRESET: a write whose wake-up was still pending when the
	// cancel landed left its bytes unread in a's socket (15 runs in
	// 1,000 under -race, -count=200, on a loaded machine).
	buf := make([]byte, 8)
	if n, err := unix.Read(b, buf); err != unix.ECONNRESET && (n != 0 || err != nil) {
		t.Fatalf("read after the peer closed: %d, %v; want end of stream (or ECONNRESET)", n, err)
	}
}

// TestRegisterRecvOnEpoll: on epoll RegisterRecv is Register.
func TestRegisterRecvOnEpoll(t *testing.T) {
	p, ch := newPoller(t, BackendEpoll)
	a, b := socketpair(t)
	r, err := p.RegisterRecv(a, pid, 1, Readable)
	if err != nil {
		t.Fatal(err)
	}
	if r.Receives() {
		t.Fatal("Receives() on epoll")
	}
	write(t, b)
	if got := recv(t, ch); got.Reg != r || got.Dir != Readable {
		t.Fatalf("Ready = %+v", got)
	}
}
