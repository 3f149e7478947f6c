package test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/test/testkit"
	"github.com/actornet/actornet/test/testkit/certs"
)

// TLS connections killed mid-stream: clients send numbered 8-byte frames
// over TLS and count each one the server acknowledges; then each is
// killed one way: reset by the client, a record cut in half followed by
// the FIN, the server's handler aborting, or the connection actor
// stopped. For every connection, the server's handler saw exactly the
// frames 1..k in order (nothing acknowledged is missing, nothing out of a
// broken record is delivered) and every acknowledged frame is among them.
func TestTLSChaos(t *testing.T) {
	const conns, frames = 24, 200
	cert, pool, err := certs.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	sys := testkit.System(t)
	ctx := testkit.Context(t)

	var mu sync.Mutex
	got := make(map[uint64][]uint64) // client id → the frames its server handler saw
	ended := make(chan struct{}, conns)
	type serverConn struct {
		id, mode, killAt uint64
		named            bool
		buf              []byte
	}
	handler := tcp.PerConnection(func() tcp.Handler {
		s := &serverConn{}
		return tcp.HandlerFunc(func(c *tcp.Conn, msg any) {
			switch m := msg.(type) {
			case *messages.Received:
				s.buf = append(s.buf, m.GetData()...)
				for len(s.buf) >= 8 {
					v := binary.BigEndian.Uint64(s.buf)
					s.buf = s.buf[8:]
					if !s.named { // the first frame: id<<32 | kill mode<<24 | the frame to kill at
						s.id, s.mode, s.killAt, s.named = v>>32, v>>24&0xff, v&0xffffff, true
						continue
					}
					mu.Lock()
					got[s.id] = append(got[s.id], v)
					mu.Unlock()
					switch {
					case v == s.killAt && s.mode == 2:
						_ = c.Abort()
						return
					case v == s.killAt && s.mode == 3:
						sys.Root().Stop(c.PID()) // from outside, as a supervisor would
						return
					}
					ack := binary.BigEndian.AppendUint64(nil, v)
					if err := c.Write(ack); err != nil {
						t.Errorf("ack %d: %v", v, err)
					}
				}
			case *messages.Closed, *messages.ErrorClosed:
				ended <- struct{}{}
			}
		})
	})
	l, err := tcp.Serve(ctx, sys, "127.0.0.1:0", handler, tcp.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}}))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)

	acked := make([]uint64, conns)
	cut := make([]uint64, conns) // the frame sent in a half record, if any
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acked[i], cut[i] = tlsChaosClient(t, l.Addr().String(), pool, uint64(i), frames)
		}()
	}
	wg.Wait()
	for range conns {
		select {
		case <-ended:
		case <-ctx.Done():
			t.Fatal("not every server connection ended")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range conns {
		seen := got[uint64(i)]
		for j, v := range seen {
			if v != uint64(j+1) {
				t.Fatalf("connection %d: the server saw %v...: frame %d where %d was due", i, seen[:j+1], v, j+1)
			}
		}
		if uint64(len(seen)) < acked[i] {
			t.Errorf("connection %d: %d frames acknowledged, the server saw %d", i, acked[i], len(seen))
		}
		if cut[i] != 0 && uint64(len(seen)) >= cut[i] {
			t.Errorf("connection %d: frame %d, sent in half a record, was delivered", i, cut[i])
		}
	}
}

// tlsChaosClient streams frames 1..n, each awaited, and kills the
// connection at a random frame in the way its id picks. It returns the
// highest frame acknowledged and, for a cut record, the frame in it.
func tlsChaosClient(t *testing.T, addr string, pool *x509.CertPool, id, n uint64) (acked, cut uint64) {
	killAt := 5 + rand.Uint64N(n-10)
	defer func() {
		if acked+1 < killAt {
			t.Errorf("client %d: the stream ended after %d frames, before its kill at %d", id, acked, killAt)
		}
	}()
	mode := id % 4
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return 0, 0
	}
	defer raw.Close()
	held := &testkit.HoldConn{Conn: raw}
	c := tls.Client(held, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	_ = c.SetDeadline(time.Now().Add(testkit.Timeout))
	if _, err := c.Write(binary.BigEndian.AppendUint64(nil, id<<32|mode<<24|killAt)); err != nil {
		t.Error(err)
		return 0, 0
	}
	ack := make([]byte, 8)
	for seq := uint64(1); seq <= n; seq++ {
		if seq == killAt {
			switch mode {
			case 0: // reset
				_ = raw.(*net.TCPConn).SetLinger(0)
				raw.Close()
				return acked, 0
			case 1: // half a record, then the FIN
				held.Hold = true
				_, _ = c.Write(binary.BigEndian.AppendUint64(nil, seq))
				_, _ = raw.Write(held.Held[:len(held.Held)/2])
				_ = raw.(*net.TCPConn).CloseWrite()
				_, _ = io.Copy(io.Discard, raw)
				return acked, seq
			}
		}
		if _, err := c.Write(binary.BigEndian.AppendUint64(nil, seq)); err != nil {
			return acked, 0
		}
		if _, err := io.ReadFull(c, ack); err != nil {
			return acked, 0 // modes 2 and 3: the server ended it at killAt
		}
		if binary.BigEndian.Uint64(ack) != seq {
			t.Errorf("client %d: ack %d for frame %d", id, binary.BigEndian.Uint64(ack), seq)
			return acked, 0
		}
		acked = seq
	}
	return acked, 0
}
