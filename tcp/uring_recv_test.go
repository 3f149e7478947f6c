package tcp

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
	"github.com/asynkron/protoactor-go/actor"
)

// The push-mode read path on io_uring's receive (phase 2): the handler is
// lent the poller's buffers, retains them like pooled ones, and every
// buffer goes back to the ring once released.

// TestServeRecvBuffersComeBack: on io_uring, an echo of many messages
// (more than the ring has buffers) with a handler that retains every other
// Received and releases it at the next, echoes every byte in order, and
// leaves no buffer out once the connections close. On epoll the same runs
// on pooled buffers (nothing to count).
func TestServeRecvBuffersComeBack(t *testing.T) {
	t.Setenv(poller.RecvEnv, "1")
	sys := newSystem(t, actors.WithBackend(actors.BackendIOUring), actors.WithPollers(1))
	rt := sys.Runtime()
	var ringLent atomic.Int64
	h := func() Handler {
		var held []Loan
		size := 0
		return HandlerFunc(func(c *Conn, msg any) {
			m, ok := msg.(*messages.Received)
			if !ok {
				return
			}
			if c.a.cur != nil && c.a.cur.ring != nil {
				ringLent.Add(1)
			}
			size += len(m.GetData())
			held = append(held, c.Retain())
			if size < 200 {
				return
			}
			for _, l := range held {
				c.Write(l.Bytes())
				l.Release()
			}
			held, size = held[:0], 0
		})
	}
	l := serve(t, sys, "127.0.0.1:0", PerConnection(h))
	const conns, rounds = 4, 1500 // 6,000 rounds: more than the ring's 2,048 buffers
	errs := make(chan error, conns)
	for i := range conns {
		go func() {
			errs <- func() error {
				nc, err := net.Dial("tcp", l.Addr().String())
				if err != nil {
					return err
				}
				defer nc.Close()
				if err := nc.SetDeadline(time.Now().Add(testTimeout)); err != nil {
					return err
				}
				got := make([]byte, 200)
				for r := range rounds {
					msg := bytes.Repeat([]byte{byte(i*rounds + r)}, 100)
					// Two writes a round, one Received or two: the
					// handler answers once it holds 200 bytes.
					for range 2 {
						if _, err := nc.Write(msg); err != nil {
							return err
						}
					}
					if _, err := io.ReadFull(nc, got); err != nil {
						return err
					}
					if !bytes.Equal(got[:100], msg) || !bytes.Equal(got[100:], msg) {
						return fmt.Errorf("round %d: echo %x; want %x twice", r, got, msg)
					}
				}
				// Leave the handler a retained buffer when the peer goes:
				// it comes back when the connection ends.
				_, err = nc.Write(msg1)
				return err
			}()
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(testTimeout)
	for {
		if n := rt.RecvBuffersOut(); n == 0 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("RecvBuffersOut = %d after every connection closed; want 0", n)
		}
		runtime.Gosched()
	}
	if sys.Backend() == actors.BackendIOUring && ringLent.Load() == 0 {
		t.Fatal("on io_uring, no Received lent a buffer of the poller's")
	}
}

var msg1 = []byte("x")

// resumeReading is what a pausedSum handler resumes reading at.
type resumeReading struct{}

// pausedSum is a handler that pauses reading at Connected (its PID goes
// to conns), resumes at resumeReading, and at PeerClosed sends sums the
// bytes it received.
func pausedSum(conns chan<- *actor.PID, sums chan<- int) Handler {
	sum := 0
	return HandlerFunc(func(c *Conn, msg any) {
		switch m := msg.(type) {
		case *messages.Connected:
			c.PauseReading()
			conns <- c.PID()
		case resumeReading:
			c.ResumeReading()
		case *messages.Received:
			sum += len(m.GetData())
		case *messages.PeerClosed:
			sums <- sum
		}
	})
}

// TestServeRecvBoundedByCredit: a handler that pauses reading at once,
// with a read credit of 2, and a peer that sends as fast as TCP lets it:
// the poller's receive (io_uring) takes at most the credit in buffers for
// the connection (one more for the last receive's spill) however long
// the peer pushes, the rest staying in the socket; once the handler
// resumes, every byte the peer wrote arrives. On epoll nothing is the
// poller's to count, and the rest of the test holds as well.
func TestServeRecvBoundedByCredit(t *testing.T) {
	const credit = 2
	sys := newSystem(t, actors.WithBackend(actors.BackendIOUring), actors.WithPollers(1))
	rt := sys.Runtime()
	conns := make(chan *actor.PID, 1)
	total := make(chan int, 1)
	h := pausedSum(conns, total)
	l := serve(t, sys, "127.0.0.1:0", h, WithReadCredit(credit))
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var conn *actor.PID
	select {
	case conn = <-conns:
	case <-testCtx(t).Done():
		t.Fatal("no Connected")
	}
	// Push until TCP's windows are full: the write times out.
	if err := nc.SetWriteDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	sent, err := nc.Write(make([]byte, 64<<20))
	if err == nil {
		t.Fatalf("wrote all %d bytes to a connection that paused reading", sent)
	}
	if n, bound := rt.RecvBuffersOut(), credit+1; n > bound {
		t.Fatalf("the poller holds %d buffers for a paused connection with a read credit of %d; want at most %d", n, credit, bound)
	}
	sys.Root().Send(conn, resumeReading{})
	if err := nc.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-total:
		if n != sent {
			t.Fatalf("the handler received %d bytes; the peer wrote %d", n, sent)
		}
	case <-testCtx(t).Done():
		t.Fatal("reading never resumed")
	}
}

// TestServeRecvTLS: TLS over io_uring's receive, where the ciphertext
// comes in the poller's buffers and crypto/tls takes it in pieces of its
// own sizes (ringRead). A client streams MiBs to a handler that paused
// reading with a read credit of 2: the poller takes a few buffers, not
// the stream, which waits in the socket; resumed, the handler gets every
// byte (from the poller's buffers, then from the socket once the
// receive stopped at its limit, until it is armed again). A second connection whose
// handler aborts at its first bytes, in the middle of the stream, leaves
// no buffer out.
func TestServeRecvTLS(t *testing.T) {
	const credit, total = 2, 8 << 20
	fx := newTLSFixture(t)
	sys := newSystem(t, actors.WithBackend(actors.BackendIOUring), actors.WithPollers(1))
	rt := sys.Runtime()
	conns := make(chan *actor.PID, 1)
	sums := make(chan int, 1)
	h := pausedSum(conns, sums)
	l := serve(t, sys, "127.0.0.1:0", h, WithReadCredit(credit), WithTLS(fx.serverConfig()))
	tc := tls.Client(dialWithin(t, l.Addr().String(), ""), fx.clientConfig())
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	var conn *actor.PID
	select {
	case conn = <-conns:
	case <-testCtx(t).Done():
		t.Fatal("no Connected")
	}
	wrote := make(chan error, 1)
	go func() {
		chunk := make([]byte, 64<<10)
		for i := range chunk {
			chunk[i] = byte(i)
		}
		for range total / len(chunk) {
			if _, err := tc.Write(chunk); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- tc.CloseWrite() // close_notify: the handler's PeerClosed
	}()
	if sys.Backend() == actors.BackendIOUring {
		// The poller takes the credit's bytes, not the stream, while the
		// handler is paused (so it receives for a TLS connection). (It bounds bytes: a buffer holds a
		// completion however small, and the first segments of a stream
		// can come in pieces, so the buffers may be a few more than the
		// credit; poller's tests hold the byte bound exactly.)
		deadline := time.Now().Add(testTimeout)
		for rt.RecvBuffersOut() < credit {
			if time.Now().After(deadline) {
				t.Fatalf("the poller holds %d buffers for a paused connection; want %d", rt.RecvBuffersOut(), credit)
			}
			runtime.Gosched()
		}
		if n := rt.RecvBuffersOut(); n > poller.MaxRecvBuffers {
			t.Fatalf("the poller holds %d buffers for a paused connection with a read credit of %d; want a few", n, credit)
		}
	}
	sys.Root().Send(conn, resumeReading{})
	select {
	case n := <-sums:
		if n != total {
			t.Fatalf("the handler received %d bytes; the peer wrote %d", n, total)
		}
	case <-testCtx(t).Done():
		t.Fatal("reading never resumed")
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}

	// A handler that aborts in the middle of the stream.
	aborted := make(chan struct{})
	la := serve(t, sys, "127.0.0.1:0", HandlerFunc(func(c *Conn, msg any) {
		if _, ok := msg.(*messages.Received); ok {
			c.Abort()
		}
		if _, ok := msg.(*messages.Closed); ok {
			close(aborted)
		}
	}), WithTLS(fx.serverConfig()))
	ta := tls.Client(dialWithin(t, la.Addr().String(), ""), fx.clientConfig())
	go func() {
		for _, err := ta.Write(make([]byte, 1<<20)); err == nil; _, err = ta.Write(make([]byte, 1<<20)) {
		}
	}()
	select {
	case <-aborted:
	case <-testCtx(t).Done():
		t.Fatal("the aborting handler never ended")
	}

	// A handshake that fails with bytes still coming: a ClientHello, then
	// in the same write a record of 16,000 bytes that are not the
	// client's Finished, then more. crypto/tls reads the record whole
	// (a buffer of the poller's part taken, the rest held for its next
	// read) and fails; the buffer held goes back as the connection ends.
	lf, failed := tlsEcho(t, sys, "127.0.0.1:0", nil, WithTLS(fx.serverConfig()))
	junk := append(clientHello(t), 23, 3, 3, byte(16000>>8), byte(16000&0xff))
	junk = append(junk, bytes.Repeat([]byte{0xa5}, 16000+3000)...)
	nf := dialWithin(t, lf.Addr().String(), string(junk))
	if _, err := io.Copy(io.Discard, nf); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after a failed handshake: %v; want the end of the stream", err)
	}
	waitFailed(t, failed)
	deadline := time.Now().Add(testTimeout)
	for rt.RecvBuffersOut() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("RecvBuffersOut = %d after the connections ended; want 0", rt.RecvBuffersOut())
		}
		runtime.Gosched()
	}
}

// TestServeRecvTLSInjectedEAGAIN: an EAGAIN injected on a TLS
// connection's read where the poller receives for it (its bytes stay
// queued) is a "not now", not a failure: the handshake completes and the
// echo answers. (The fault is consulted before each take from the
// poller's queue, as before a read(2).)
func TestServeRecvTLSInjectedEAGAIN(t *testing.T) {
	t.Setenv(poller.RecvEnv, "1")
	fx := newTLSFixture(t)
	sys := newSystem(t, actors.WithBackend(actors.BackendIOUring), actors.WithPollers(1))
	if sys.Backend() != actors.BackendIOUring {
		t.Skip("io_uring refused here: the poller does not receive")
	}
	l, failed := tlsEcho(t, sys, "127.0.0.1:0", nil, WithTLS(fx.serverConfig()))
	var fired atomic.Int32
	remove := socket.InjectFaults(func(op socket.Op, fd int) error {
		if op == socket.OpRead && fired.Add(1) == 1 {
			return syscall.EAGAIN
		}
		return nil
	})
	defer remove()
	tc := tls.Client(dialWithin(t, l.Addr().String(), ""), fx.clientConfig())
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(tc, got); err != nil || string(got) != "ping" {
		select {
		case e := <-failed:
			t.Fatalf("echo: %q, %v; the handshake failed: %v", got, err, e.Err)
		default:
		}
		t.Fatalf("echo: %q, %v; want \"ping\"", got, err)
	}
	if fired.Load() == 0 {
		t.Fatal("no read consulted the fault")
	}
}
