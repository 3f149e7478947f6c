package tcp

import (
	"crypto/tls"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// BenchmarkTLSDesign measures the two designs the TLS issue weighed, on
// one push-mode server, with a Go crypto/tls client doing 64-byte round
// trips (run pinned: taskset -c 0):
//
//   - inline: WithTLS, the record layer inside the connection actor;
//   - goroutine: a goroutine per TLS connection running crypto/tls over a
//     blocking in-memory transport that the connection actor feeds with
//     each Received, its records written back through the actor (a
//     Write message, handled on the goroutine that sends it).
//
// It reports allocations, and for the goroutine design the bytes of its
// goroutine's stack as the runtime sees them (stack_B/conn).
func BenchmarkTLSDesign(b *testing.B) {
	f := newTLSFixture(b)
	b.Run("inline", func(b *testing.B) {
		benchTLSEcho(b, f, echoTLS, WithTLS(f.serverConfig()))
	})
	b.Run("goroutine", func(b *testing.B) {
		cfg := f.serverConfig()
		benchTLSEcho(b, f, PerConnection(func() Handler { return &tlsGoroutine{cfg: cfg} }))
	})
}

var echoTLS = HandlerFunc(func(c *Conn, msg any) {
	if m, ok := msg.(*messages.Received); ok {
		c.Write(m.GetData())
	}
})

func benchTLSEcho(b *testing.B, f *tlsFixture, h Handler, opts ...ServeOption) {
	sys := newSystem(b)
	l, err := Serve(testCtx(b), sys, "127.0.0.1:0", h, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close(testCtx(b)) })
	// A blocking socket under the client, as in benchPushEcho: Go's
	// netpoller would add its own wake-ups to every round trip.
	s, err := socket.Open(socket.IPv4, socket.Stream)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Blocking(true); err != nil {
		b.Fatal(err)
	}
	if err := s.Connect(l.Addr()); err != nil {
		b.Fatal(err)
	}
	c := tls.Client(blockingConn{s}, f.clientConfig())
	defer c.Close()
	msg, buf := make([]byte, 64), make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// blockingConn is a net.Conn over a blocking socket.
type blockingConn struct{ s *socket.Socket }

func (c blockingConn) Read(p []byte) (int, error) {
	n, err := c.s.Read(p)
	if err == nil && n == 0 {
		return 0, io.EOF
	}
	return n, err
}
func (c blockingConn) Write(p []byte) (int, error)      { return c.s.Write(p) }
func (c blockingConn) Close() error                     { return c.s.Close() }
func (c blockingConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c blockingConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c blockingConn) SetDeadline(time.Time) error      { return nil }
func (c blockingConn) SetReadDeadline(time.Time) error  { return nil }
func (c blockingConn) SetWriteDeadline(time.Time) error { return nil }

// tlsGoroutine is the goroutine design, built on the public API: the
// connection actor passes ciphertext to a goroutine that runs crypto/tls
// (and the echo) and sends records back as Write messages.
type tlsGoroutine struct {
	cfg  *tls.Config
	pipe *feedConn
}

func (h *tlsGoroutine) Receive(c *Conn, msg any) {
	switch m := msg.(type) {
	case *messages.Connected:
		h.pipe = &feedConn{send: func(p []byte) {
			c.System().Root().Send(c.PID(), &messages.Write{Data: p})
		}}
		h.pipe.cond.L = &h.pipe.mu
		go func() {
			tc := tls.Server(h.pipe, h.cfg)
			defer tc.Close()
			buf := make([]byte, 16<<10)
			for {
				n, err := tc.Read(buf)
				if err != nil {
					return
				}
				if _, err := tc.Write(buf[:n]); err != nil {
					return
				}
			}
		}()
	case *messages.Received:
		h.pipe.feed(append([]byte(nil), m.GetData()...))
	case *messages.Closed, *messages.ErrorClosed, *messages.PeerClosed:
		h.pipe.close()
	}
}

// feedConn is a blocking in-memory net.Conn: Read waits for what feed
// gives it; Write hands records to send.
type feedConn struct {
	mu     sync.Mutex
	cond   sync.Cond
	in     []byte
	closed bool
	send   func([]byte)
}

func (p *feedConn) feed(b []byte) {
	p.mu.Lock()
	p.in = append(p.in, b...)
	p.mu.Unlock()
	p.cond.Signal()
}

func (p *feedConn) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cond.Broadcast()
}

func (p *feedConn) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.in) == 0 && !p.closed {
		p.cond.Wait()
	}
	if len(p.in) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.in)
	p.in = p.in[n:]
	return n, nil
}

func (p *feedConn) Write(b []byte) (int, error) {
	p.send(append([]byte(nil), b...))
	return len(b), nil
}

func (p *feedConn) Close() error                     { p.close(); return nil }
func (p *feedConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (p *feedConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (p *feedConn) SetDeadline(time.Time) error      { return nil }
func (p *feedConn) SetReadDeadline(time.Time) error  { return nil }
func (p *feedConn) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkTLSIdle reports the memory of an idle TLS connection after its
// handshake in each design: heap and stack in use per connection, the
// server's and the (same) client's together, so the difference between
// the designs is the server's.
func BenchmarkTLSIdle(b *testing.B) {
	f := newTLSFixture(b)
	cfg := f.serverConfig()
	designs := []struct {
		name string
		h    Handler
		opts []ServeOption
	}{
		{"inline", echoTLS, []ServeOption{WithTLS(cfg)}},
		{"goroutine", PerConnection(func() Handler { return &tlsGoroutine{cfg: cfg} }), nil},
	}
	for _, d := range designs {
		b.Run(d.name, func(b *testing.B) {
			const n = 200
			sys := newSystem(b)
			l, err := Serve(testCtx(b), sys, "127.0.0.1:0", d.h, d.opts...)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = l.Close(testCtx(b)) })
			for b.Loop() {
				before := inUse()
				conns := make([]*tls.Conn, 0, n)
				for range n {
					c, err := tls.Dial("tcp", l.Addr().String(), f.clientConfig())
					if err != nil {
						b.Fatal(err)
					}
					// One round trip: the server has finished its side.
					if _, err := c.Write([]byte("x")); err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
						b.Fatal(err)
					}
					conns = append(conns, c)
				}
				b.ReportMetric(float64(inUse()-before)/n, "B/conn")
				for _, c := range conns {
					c.Close()
				}
			}
		})
	}
}

// inUse is the heap and the goroutine stacks in use, after a GC.
func inUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}
