package tcp

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
)

// The push-mode write path on io_uring's batched send (conn_sends.go):
// every test runs with the send on and off (poller.SendEnv), on io_uring
// where the kernel has it (epoll otherwise: the send is never made).

// sendRun is one run of a send test: its system, whether the poller's
// send is on, and whether the connections speak TLS (WithTLS; the
// records then go through the send, and on io_uring the ciphertext
// comes through the poller's receive).
type sendRun struct {
	sys *actors.System
	on  bool
	tls *tlsFixture // nil: plain TCP
}

// serve serves h as the run's connections speak.
func (r sendRun) serve(t *testing.T, h Handler, opts ...ServeOption) *Listener {
	if r.tls != nil {
		opts = append(opts, WithTLS(r.tls.serverConfig()))
	}
	return serve(t, r.sys, "127.0.0.1:0", h, opts...)
}

// dial is dialWithin, over TLS (handshake done) for a TLS run.
func (r sendRun) dial(t *testing.T, addr, first string) net.Conn {
	t.Helper()
	if r.tls == nil {
		return dialWithin(t, addr, first)
	}
	tc := tls.Client(dialWithin(t, addr, ""), r.tls.clientConfig())
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if first != "" {
		if _, err := tc.Write([]byte(first)); err != nil {
			t.Fatal(err)
		}
	}
	return tc
}

// tcpOf is the TCP connection under nc (a plain or a TLS one).
func tcpOf(nc net.Conn) *net.TCPConn {
	if tc, ok := nc.(*tls.Conn); ok {
		return tc.NetConn().(*net.TCPConn)
	}
	return nc.(*net.TCPConn)
}

// eachSend runs f with the io_uring send on and off, over plain TCP and
// over TLS.
func eachSend(t *testing.T, f func(t *testing.T, r sendRun)) {
	fx := newTLSFixture(t)
	for _, secure := range []bool{false, true} {
		for _, on := range []bool{true, false} {
			name := map[bool]string{true: "send", false: "write"}[on] + map[bool]string{false: "", true: "/tls"}[secure]
			t.Run(name, func(t *testing.T) {
				t.Setenv(poller.SendEnv, map[bool]string{true: "1", false: "0"}[on])
				r := sendRun{sys: newSystem(t, actors.WithBackend(actors.BackendIOUring), actors.WithPollers(1)), on: on}
				if secure {
					r.tls = fx
				}
				f(t, r)
				sends := r.sys.Runtime().Sends()
				switch {
				case r.sys.Backend() != actors.BackendIOUring && sends != 0:
					t.Fatalf("%d sends on %v", sends, r.sys.Backend())
				case r.sys.Backend() == actors.BackendIOUring && on && sends == 0:
					t.Fatal("no send went through the poller")
				case !on && sends != 0:
					t.Fatalf("%d sends with %s=0", sends, poller.SendEnv)
				}
			})
		}
	}
}

// streamByte is the byte at offset i of stream s.
func streamByte(s, i int) byte { return byte(i*7 + i/251 + s*13) }

// TestServeSendsEchoManyConns: many connections echo streams of many
// sizes at once; each gets its bytes back complete and in order.
func TestServeSendsEchoManyConns(t *testing.T) {
	eachSend(t, func(t *testing.T, r sendRun) {
		// Reads of at most 32 KiB: an echo's TLS records then fit a stage
		// (maxStage) whatever the reads gather (on one P they gather up
		// to the read size, and a longer write goes by write(2)).
		l := r.serve(t, testHandler(nil, echoing), WithReadSize(32<<10))
		const conns, size = 24, 256 << 10
		errs := make(chan error, 2*conns)
		for s := range conns {
			nc := r.dial(t, l.Addr().String(), "")
			go func() { // writes of 1 B to 16 KiB
				buf := make([]byte, 0, 16<<10)
				for off, k := 0, 1; off < size; k = k*5%(16<<10) + 1 {
					buf = buf[:0]
					for i := off; i < min(off+k, size); i++ {
						buf = append(buf, streamByte(s, i))
					}
					if _, err := nc.Write(buf); err != nil {
						errs <- err
						return
					}
					off += len(buf)
				}
				errs <- nil
			}()
			go func() {
				got := make([]byte, size)
				if _, err := io.ReadFull(nc, got); err != nil {
					errs <- err
					return
				}
				for i, b := range got {
					if b != streamByte(s, i) {
						errs <- fmt.Errorf("conn %d: byte %d is %d; want %d", s, i, b, streamByte(s, i))
						return
					}
				}
				errs <- nil
			}()
		}
		for range 2 * conns {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestServeSendsLargeWrites: a handler writes MiBs in one call, in writes
// of a few bytes to a MiB, to a peer that reads only once all are
// queued: the sends fall short, meet a full socket and go on from their
// offsets; the peer reads every byte in order, and every Write is
// acknowledged, in order.
func TestServeSendsLargeWrites(t *testing.T) {
	sizes := []int{100, 3000, 64 << 10, 7, 200 << 10, 1 << 20, 5, 4096, 60 << 10, 1 << 20, 333, 2 << 20}
	total := 0
	for _, n := range sizes {
		total += n
	}
	eachSend(t, func(t *testing.T, r sendRun) {
		events := make(chan any, 1024)
		blast := func(c *Conn, msg any) {
			if _, ok := msg.(*messages.Received); !ok {
				return
			}
			off := 0
			for i, n := range sizes {
				data := make([]byte, n)
				for j := range data {
					data[j] = streamByte(1, off+j)
				}
				off += n
				if err := c.WriteAck(data, uint64(i+1)); err != nil {
					t.Errorf("write %d: %v", i, err)
				}
			}
			events <- "queued"
		}
		l := r.serve(t, testHandler(events, blast), WithWriteQueue(64<<20, 32<<20, 16<<20))
		nc := r.dial(t, l.Addr().String(), "go")
		next[string](t, events)
		got := make([]byte, total)
		if n, err := io.ReadFull(nc, got); err != nil {
			t.Fatalf("read %d of %d: %v", n, total, err)
		}
		for i, b := range got {
			if b != streamByte(1, i) {
				t.Fatalf("byte %d of %d is %d; want %d", i, total, b, streamByte(1, i))
			}
		}
		for i := range sizes {
			if w := next[*messages.Written](t, events); w.GetAck() != uint64(i+1) {
				t.Fatalf("Written %d; want %d", w.GetAck(), i+1)
			}
		}
	})
}

// TestServeSendsChainOnWritten: a handler that writes its next chunk
// from each Written (the acknowledgment of the one before), as a
// streaming server paced by its acks does: the peer reads every chunk
// once, in order, and nothing more; asked again, it gets the answer,
// not a stale stage. (A send started from a Written, inside the flush
// that delivered it, was written again by that flush with write(2), its
// stage reused while the kernel still held it.)
func TestServeSendsChainOnWritten(t *testing.T) {
	eachSend(t, func(t *testing.T, r sendRun) {
		const chunks, size = 16, 32 << 10
		chunk := func(k int) []byte {
			b := make([]byte, size)
			for i := range b {
				b[i] = streamByte(k, i)
			}
			return b
		}
		first := true
		chain := func(c *Conn, msg any) {
			switch m := msg.(type) {
			case *messages.Received:
				if first {
					first = false
					c.WriteAck(chunk(0), 1)
				} else {
					c.Write([]byte("tail"))
				}
			case *messages.Written:
				if k := int(m.GetAck()); k < chunks {
					c.WriteAck(chunk(k), uint64(k+1))
				}
			}
		}
		l := r.serve(t, testHandler(nil, chain))
		nc := r.dial(t, l.Addr().String(), "go")
		got := make([]byte, chunks*size)
		if _, err := io.ReadFull(nc, got); err != nil {
			t.Fatal(err)
		}
		for k := range chunks {
			if !bytes.Equal(got[k*size:(k+1)*size], chunk(k)) {
				t.Fatalf("chunk %d of %d differs", k, chunks)
			}
		}
		if _, err := nc.Write([]byte("again")); err != nil {
			t.Fatal(err)
		}
		tail := make([]byte, 4)
		if _, err := io.ReadFull(nc, tail); err != nil || string(tail) != "tail" {
			t.Fatalf("after the chain: %q, %v; want \"tail\"", tail, err)
		}
	})
}

// TestServeSendsPeerReset: a peer that resets while the handler writes
// on: the connection ends with ErrorClosed naming the write and
// ECONNRESET or EPIPE, as write(2)'s failure does, and counts the error.
func TestServeSendsPeerReset(t *testing.T) {
	eachSend(t, func(t *testing.T, r sendRun) {
		events := make(chan any, 1024)
		chunk := bytes.Repeat([]byte("r"), 32<<10)
		writer := func(c *Conn, msg any) {
			switch msg.(type) {
			case *messages.Received:
				c.PauseReading() // the reset must meet a write, not a read
				c.WriteAck(chunk, 1)
			case *messages.Written:
				c.WriteAck(chunk, 1) // on and on, as the peer reads
			}
		}
		l := r.serve(t, testHandler(events, writer))
		nc := r.dial(t, l.Addr().String(), "go")
		if _, err := io.ReadFull(nc, make([]byte, 256<<10)); err != nil {
			t.Fatal(err)
		}
		if err := tcpOf(nc).SetLinger(0); err != nil {
			t.Fatal(err)
		}
		nc.Close() // RST
		ec := next[*messages.ErrorClosed](t, events)
		err := ec.GetCause().Err()
		if ec.GetCause().GetOp() != "write" || !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
			t.Fatalf("ErrorClosed %v; want the write's ECONNRESET or EPIPE", ec.GetCause())
		}
		conn := actors.MetricKey{Kind: "tcp.conn", Service: l.Addr().String()}
		if got := r.sys.Metrics().Sockets[conn]; got.Errors == 0 {
			t.Fatalf("Metrics %+v: no error counted", got)
		}
	})
}

// TestServeSendsCloseAndAbortInFlight: a handler that writes and at once
// closes (or aborts), so that its send is queued when the connection
// closes, on many connections: Close flushes every byte before the FIN;
// Abort resets; each connection ends with Closed, and nothing leaks
// (TestMain checks the fds and goroutines).
func TestServeSendsCloseAndAbortInFlight(t *testing.T) {
	for _, abort := range []bool{false, true} {
		t.Run(map[bool]string{false: "close", true: "abort"}[abort], func(t *testing.T) {
			eachSend(t, func(t *testing.T, r sendRun) {
				events := make(chan any, 1024)
				reply := bytes.Repeat([]byte("z"), 48<<10)
				closer := func(c *Conn, msg any) {
					if _, ok := msg.(*messages.Received); !ok {
						return
					}
					c.Write(reply)
					if abort {
						c.Abort()
					} else {
						c.Close()
					}
				}
				l := r.serve(t, testHandler(events, closer))
				const conns = 16
				for range conns {
					nc := r.dial(t, l.Addr().String(), "x")
					got, err := io.ReadAll(nc)
					switch {
					case abort && !errors.Is(err, syscall.ECONNRESET) && !bytes.Equal(got, reply):
						t.Fatalf("after Abort: %d bytes, %v; want a reset", len(got), err)
					case !abort && (err != nil || !bytes.Equal(got, reply)):
						t.Fatalf("after Close: %d bytes, %v; want %d and end of stream", len(got), err, len(reply))
					}
				}
				for range conns {
					next[*messages.Closed](t, events)
				}
			})
		})
	}
}
