package tcp

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/actors"
)

// sendWithUrgent writes "abc", an urgent byte (MSG_OOB: out of the
// stream, SO_OOBINLINE being off) and "def" on c. A read of the stream
// stops short at the urgent mark, with "def" still queued.
func sendWithUrgent(t *testing.T, c net.Conn) {
	t.Helper()
	if _, err := c.Write([]byte("abc")); err != nil {
		t.Error(err)
		return
	}
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Error(err)
		return
	}
	var serr error
	if err := rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), []byte("X"), unix.MSG_OOB, nil)
		return true
	}); err != nil || serr != nil {
		t.Errorf("send urgent byte: %v, %v", err, serr)
		return
	}
	if _, err := c.Write([]byte("def")); err != nil {
		t.Error(err)
	}
}

// TestClientReadsPastUrgentMark: a short read at the urgent mark does not
// prove the socket drained, even for a client whose early reads have
// stopped paying (each answer comes after its request): the rest of the
// stream is read without new data.
func TestClientReadsPastUrgentMark(t *testing.T) {
	sys := newSystem(t)
	skipUrgentOnURing(t, sys)
	asked := make(chan bool)
	sent := make(chan struct{})
	var once sync.Once
	done := func() { once.Do(func() { close(asked) }) }
	srv := goServer(t, "127.0.0.1:0", func(c net.Conn) {
		defer c.Close()
		msg := make([]byte, 64)
		for urgent := range asked {
			if urgent {
				sendWithUrgent(t, c)
				close(sent)
				continue
			}
			if _, err := c.Write(msg); err != nil {
				return
			}
		}
	})
	t.Cleanup(done) // before goServer's cleanup joins its handler
	c := dial(t, sys, srv)
	ctx := testCtx(t)
	for i := range 40 {
		f := c.RecvExactAsync(64, 0)
		asked <- false
		if res, err := f.Wait(ctx); err != nil || len(res.GetData()) != 64 {
			t.Fatalf("round %d: %v, %v", i, res, err)
		}
	}
	asked <- true
	<-sent
	got := ""
	for len(got) < 6 {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		p, err := c.Recv(rctx, 64)
		cancel()
		if err != nil {
			t.Fatalf("after %q: Recv: %v (the rest of the stream is in the socket)", got, err)
		}
		got += string(p)
	}
	if got != "abcdef" {
		t.Fatalf("read %q, want \"abcdef\"", got)
	}
	done()
}

// TestServeReadsPastUrgentMark: a push-mode connection whose read stops
// short at the urgent mark reads on: the echo comes back whole.
func TestServeReadsPastUrgentMark(t *testing.T) {
	sys := newSystem(t)
	skipUrgentOnURing(t, sys)
	l := serve(t, sys, "127.0.0.1:0", HandlerFunc(echoing))
	c := dialWithin(t, l.Addr().String(), "")
	sendWithUrgent(t, c)
	got := make([]byte, 6)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "abcdef" {
		t.Fatalf("echo = %q, %v; want \"abcdef\"", got, err)
	}
}

// skipUrgentOnURing skips a test of urgent data on io_uring, which cannot
// tell it (poller/uring_linux.go: its poll completions carry the wake-up's
// key, EPOLLPRI for any data): there a read stopped at the urgent mark
// waits for the peer's next bytes. A known limit.
func skipUrgentOnURing(t *testing.T, sys *actors.System) {
	if sys.Backend() == actors.BackendIOUring {
		t.Skip("io_uring cannot tell urgent data from other data (a known limit)")
	}
}
