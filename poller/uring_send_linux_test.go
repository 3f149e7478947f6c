package poller

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The io_uring backend's send path (uring_send_linux.go, send.go).

// sendSink records the send completions reap hands over, by token.
type sendSink map[uint64][]int32

func (s sendSink) sink(token uint64, res int32) { s[token] = append(s[token], res) }

// reapUntil waits (up to 5 s) until done says the completions are in.
func reapUntil(t *testing.T, u *URing, done func() bool) {
	t.Helper()
	evs := make([]event, 64)
	deadline := time.Now().Add(5 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatal("the completions did not come")
		}
		if _, err := u.Wait(evs, 10); err != nil {
			t.Fatal(err)
		}
	}
}

// readAll reads what fd holds now (non-blocking).
func readAll(t *testing.T, fd int) []byte {
	t.Helper()
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		if n > 0 {
			out = append(out, buf[:n]...)
			continue
		}
		if err == unix.EAGAIN || n == 0 {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestURingSendFillsSQRing: more sends queued at once than the SQ ring
// holds are all made (Send submits what is queued to make room), each
// completes once with its length, and each peer gets its bytes.
func TestURingSendFillsSQRing(t *testing.T) {
	u := newURing(t)
	sink := sendSink{}
	u.setSendSink(sink.sink)
	const pairs = uringSQEntries + 44
	fds, peers := make([]int, pairs), make([]int, pairs)
	msgs := make([][]byte, pairs)
	for i := range pairs {
		fds[i], peers[i] = socketpair(t)
		if err := u.Add(fds[i], unix.EPOLLOUT, uint64(fds[i])); err != nil {
			t.Fatal(err)
		}
		pollNow(t, u) // the poll's first CQE, so that the CQ ring stays short
	}
	// No reap in between: the SQ ring fills.
	for i, a := range fds {
		msgs[i] = []byte(fmt.Sprintf("message %d", i))
		if err := u.Send(a, msgs[i]); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	reapUntil(t, u, func() bool { return len(sink) == pairs })
	for token, res := range sink {
		if len(res) != 1 {
			t.Fatalf("fd %d: completions %v; want one", token, res)
		}
	}
	for i, b := range peers {
		if got := readAll(t, b); !bytes.Equal(got, msgs[i]) {
			t.Fatalf("peer %d read %q; want %q", i, got, msgs[i])
		}
	}
}

// TestURingSendRemovedNotDelivered: a send queued (not yet submitted)
// when its fd is removed is made on that fd before Remove returns, and its
// completion never reaches a later registration of the same fd number.
func TestURingSendRemovedNotDelivered(t *testing.T) {
	u := newURing(t)
	sink := sendSink{}
	u.setSendSink(sink.sink)
	fds := rawSocketpair(t)
	a, b := fds[0], fds[1]
	t.Cleanup(func() { unix.Close(b) })
	if err := u.Add(a, unix.EPOLLOUT, 1); err != nil {
		t.Fatal(err)
	}
	if err := u.Send(a, []byte("old!")); err != nil {
		t.Fatal(err)
	}
	if err := u.Remove(a); err != nil {
		t.Fatal(err)
	}
	unix.Close(a)
	if got := readAll(t, b); string(got) != "old!" {
		t.Fatalf("the removed fd's peer read %q; want the send made before Remove returned", got)
	}
	// The lowest free number: a's again.
	fds2 := rawSocketpair(t)
	t.Cleanup(func() { unix.Close(fds2[0]); unix.Close(fds2[1]) })
	if fds2[0] != a && fds2[1] != a {
		t.Skipf("fd %d not reused (%v)", a, fds2)
	}
	if err := u.Add(a, unix.EPOLLOUT, 2); err != nil {
		t.Fatal(err)
	}
	if err := u.Send(a, []byte("new")); err != nil {
		t.Fatal(err)
	}
	reapUntil(t, u, func() bool { return len(sink[2]) > 0 })
	if len(sink[1]) != 0 || len(sink[2]) != 1 || sink[2][0] != 3 {
		t.Fatalf("completions %v; want one of 3 bytes for the new registration alone", sink)
	}
}

// TestSendResult: a send's completion maps as write(2)'s result would,
// and the kernel's refusal turns the registration's sends off.
func TestSendResult(t *testing.T) {
	tests := []struct {
		name    string
		res     int32
		n       int
		err     error
		sendsOn bool
	}{
		{name: "bytes", res: 5, n: 5, sendsOn: true},
		{name: "again", res: -int32(syscall.EAGAIN), err: syscall.EAGAIN, sendsOn: true},
		{name: "reset", res: -int32(syscall.ECONNRESET), err: syscall.ECONNRESET, sendsOn: true},
		{name: "pipe", res: -int32(syscall.EPIPE), err: syscall.EPIPE, sendsOn: true},
		{name: "cancelled", res: -int32(syscall.ECANCELED), err: ErrSendStopped, sendsOn: true},
		{name: "refused", res: -int32(syscall.EINVAL), err: ErrSendStopped, sendsOn: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Registration{}
			r.tx.on = true
			r.tx.res.Store(txPending)
			if _, _, done := r.SendResult(); done {
				t.Fatal("SendResult done while the send is in flight")
			}
			r.tx.res.Store(int64(tt.res))
			n, err, done := r.SendResult()
			if !done || n != tt.n || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("SendResult = %d, %v, %v; want %d, %v, true", n, err, done, tt.n, tt.err)
			}
			if r.Sends() != tt.sendsOn || r.Sending() {
				t.Fatalf("after: Sends %v, Sending %v; want %v, false", r.Sends(), r.Sending(), tt.sendsOn)
			}
		})
	}
}

// TestPollerSendFromOtherGoroutine: a send queued by another goroutine
// than the loop's, while the loop sleeps, is submitted (the loop is woken)
// and its completion delivered as a Ready(Writable), wanted or not; a kernel that
// refuses the request (an unknown opcode here) turns the registration's
// sends off, its bytes unsent, for write(2) to write.
func TestPollerSendFromOtherGoroutine(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		t.Run(map[bool]string{false: "sent", true: "refused"}[refuse], func(t *testing.T) {
			if refuse {
				old := sendOpcode
				sendOpcode = 0xEE
				t.Cleanup(func() { sendOpcode = old })
			}
			t.Setenv(SendEnv, "1")
			p, ch := newPoller(t, BackendIOUring)
			a, b := socketpair(t)
			r, err := p.Register(a, pid, Writable)
			if err != nil {
				t.Fatal(err)
			}
			// The registration's first Ready (the socket is writable);
			// then the loop sleeps.
			recv(t, ch)
			r.Consumed(Writable)
			// Not wanted now: the send wants its completion itself.
			r.Unwant(Writable)
			waitInEnter(t, p)
			if !r.Sends() {
				t.Fatal("Sends false on io_uring")
			}
			if !r.Send([]byte("hello")) {
				t.Fatal("Send refused")
			}
			for {
				got := recv(t, ch)
				r.Consumed(Writable)
				if got.Dir != Writable {
					continue
				}
				if n, err, done := r.SendResult(); done {
					want, wantErr := 5, error(nil)
					if refuse {
						want, wantErr = 0, ErrSendStopped
					}
					if n != want || err != wantErr {
						t.Fatalf("SendResult = %d, %v; want %d, %v", n, err, want, wantErr)
					}
					break
				}
			}
			if got := string(readAll(t, b)); refuse && got != "" || !refuse && got != "hello" {
				t.Fatalf("peer read %q", got)
			}
			if r.Sends() == refuse {
				t.Fatalf("Sends = %v after the send (refused %v)", r.Sends(), refuse)
			}
			if err := r.Deregister(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// waitInEnter waits until the poller's loop blocks in io_uring_enter
// (its thread's /proc syscall file names the call).
func waitInEnter(t *testing.T, p *Poller) {
	t.Helper()
	u := p.be.(*URing)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if tid := u.loopTid.Load(); tid != 0 {
			b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/syscall", tid))
			if err != nil {
				t.Skipf("no syscall file: %v", err)
			}
			if strings.HasPrefix(string(b), fmt.Sprintf("%d ", unix.SYS_IO_URING_ENTER)) {
				return
			}
		}
		runtime.Gosched()
	}
	t.Fatal("the loop never blocked in io_uring_enter")
}

// TestURingSendsReadFirst: a send's completion is read ahead of the
// CQEs posted before it (reapSendsLocked), so that the owner's stage
// comes back within a turn however many receives wait; every CQE is
// still read, once.
func TestURingSendsReadFirst(t *testing.T) {
	u := newSmallURing(t, 64, 256)
	sink := sendSink{}
	u.setSendSink(sink.sink)
	s, sPeer := socketpair(t)
	if err := u.Add(s, unix.EPOLLOUT, 7); err != nil {
		t.Fatal(err)
	}
	pollNow(t, u) // its poll's first CQE
	const n = 40
	for i := range n {
		a, b := socketpair(t)
		if err := u.Add(a, unix.EPOLLIN, uint64(100+i)); err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Write(b, []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	runTaskWork(t, u) // n readiness CQEs in the ring
	if err := u.Send(s, []byte("reply")); err != nil {
		t.Fatal(err)
	}
	one := make([]event, 1)
	k, err := u.Wait(one, 0) // submits the send, whose CQE comes after the n
	if err != nil {
		t.Fatal(err)
	}
	if k != 1 || TokenOf(&one[0]) != 7 || len(sink[7]) != 1 {
		t.Fatalf("first event: %d of token %d, send results %v; want the send's (token 7)", k, TokenOf(&one[0]), sink[7])
	}
	seen := map[uint64]int{}
	for deadline := time.Now().Add(5 * time.Second); len(seen) < n; {
		for _, ev := range pollNow(t, u) {
			if tok := TokenOf(&ev); tok >= 100 {
				seen[tok]++
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("saw %d of %d fds' edges after the send's", len(seen), n)
		}
	}
	for tok, c := range seen {
		if c != 1 {
			t.Errorf("token %d reported %d times; want 1", tok, c)
		}
	}
	if got := readAll(t, sPeer); string(got) != "reply" || sink[7][0] != 5 {
		t.Fatalf("the peer read %q, the send's result %v; want \"reply\", 5", got, sink[7])
	}
}

// TestURingSendsDoNotStarveTheRest: more connections than a turn's
// events each keep a send in flight (each completion's owner queues the
// next), so sends' completions are waiting at every turn and their
// backlog never empties; the other CQEs (here a readable fd's) are still
// read, and the sends' backlog does not grow.
func TestURingSendsDoNotStarveTheRest(t *testing.T) {
	u := newURing(t)
	sink := sendSink{}
	u.setSendSink(sink.sink)
	const senders, turns = 300, 200
	msg := []byte("x")
	peers := map[int]int{}
	for range senders {
		a, b := socketpair(t)
		if err := u.Add(a, unix.EPOLLIN, uint64(a)); err != nil { // nothing comes in
			t.Fatal(err)
		}
		if err := u.Send(a, msg); err != nil {
			t.Fatal(err)
		}
		peers[a] = b
	}
	c, d := socketpair(t)
	if err := u.Add(c, unix.EPOLLIN, 1); err != nil {
		t.Fatal(err)
	}
	write(t, d)
	evs := make([]event, 128)
	seen, most := false, 0
	for range turns {
		n, err := u.Wait(evs, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range evs[:n] {
			tok := TokenOf(&evs[i])
			if tok == 1 {
				seen = true
				continue
			}
			if b, ok := peers[int(tok)]; ok && evs[i].Events&unix.EPOLLOUT != 0 {
				readAll(t, b)
				if err := u.Send(int(tok), msg); err != nil {
					t.Fatal(err)
				}
			}
		}
		u.mu.Lock()
		most = max(most, len(u.sendBacklog))
		u.mu.Unlock()
	}
	if !seen {
		t.Fatalf("the readable fd was not reported in %d turns of sends", turns)
	}
	if most > 2*senders {
		t.Fatalf("the sends' backlog held %d CQEs; want at most about %d (one per sender)", most, senders)
	}
}
