package tcp

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/test/testkit"
)

// recordCount counts the records a stream completes, however it is cut.
func TestRecordCount(t *testing.T) {
	rec := func(body int) []byte {
		return append([]byte{23, 3, 3, byte(body >> 8), byte(body)}, make([]byte, body)...)
	}
	var stream []byte
	for _, body := range []int{0, 1, 300, 16 << 10, 5} {
		stream = append(stream, rec(body)...)
	}
	tests := []struct {
		name  string
		piece int
		cut   int // bytes of the stream fed
		want  uint32
	}{
		{name: "whole", piece: len(stream), cut: len(stream), want: 5},
		{name: "byte by byte", piece: 1, cut: len(stream), want: 5},
		{name: "in 7s", piece: 7, cut: len(stream), want: 5},
		{name: "header of the third cut", piece: 3, cut: 5 + 6 + 3, want: 2},
		{name: "body of the last short by one", piece: 100, cut: len(stream) - 1, want: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r recordCount
			for p := stream[:tt.cut]; len(p) > 0; {
				k := min(tt.piece, len(p))
				r.feed(p[:k])
				p = p[k:]
			}
			if r.n != tt.want {
				t.Fatalf("%d records, want %d", r.n, tt.want)
			}
		})
	}
}

// Records that come in one segment reach the handler in one Received.
// The first segment makes sure the layer has seen the socket empty once
// (it counts records from then on); the second must come whole.
func TestTLSReadTakesEveryRecord(t *testing.T) {
	f := newTLSFixture(t)
	sys := newSystem(t)
	got := make(chan string, 8)
	l, err := Serve(testCtx(t), sys, "127.0.0.1:0", HandlerFunc(func(c *Conn, msg any) {
		if m, ok := msg.(*messages.Received); ok {
			got <- string(m.GetData())
		}
	}), WithTLS(f.serverConfig()))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(testCtx(t))
	held, c := holdingTLSClient(t, l.Addr().String(), f.clientConfig())
	send := func(records ...string) { // in one segment
		t.Helper()
		held.Hold = true
		for _, s := range records {
			if _, err := c.Write([]byte(s)); err != nil {
				t.Fatal(err)
			}
		}
		held.Hold = false
		if _, err := held.Conn.Write(held.Held); err != nil {
			t.Fatal(err)
		}
		held.Held = nil
	}
	receive := func() string {
		t.Helper()
		select {
		case s := <-got:
			return s
		case <-time.After(testTimeout):
			t.Fatal("nothing delivered")
			return ""
		}
	}
	send("one", "two", "three")
	for s := ""; s != "onetwothree"; {
		s += receive()
	}
	send("four", "five", "six")
	if s := receive(); s != "fourfivesix" {
		t.Fatalf("Received %q, want the three records' %q", s, "fourfivesix")
	}
}

// A server's layer reads a record with one read of the transport, and
// does not call crypto/tls again while it can only answer "no data yet".
func TestTLSReadSkipsEmptyReads(t *testing.T) {
	f := newTLSFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client := make(chan *tls.Conn, 1)
	go func() {
		c, err := tls.Dial("tcp", ln.Addr().String(), f.clientConfig())
		if err != nil {
			t.Error(err)
			c = nil
		}
		client <- c
	}()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	o := &fakeOwner{conn: sc}
	l := newTLSLayer(o, f.serverConfig(), true)
	defer l.abort(errHandshakeAborted)
	end := time.Now().Add(testTimeout)
	for !l.handshake() {
		o.drained = false // as a Ready would
		if time.Now().After(end) {
			t.Fatal("no handshake")
		}
	}
	if l.hsErr != nil {
		t.Fatal(l.hsErr)
	}
	c := <-client
	if c == nil {
		return
	}
	defer c.Close()
	buf := make([]byte, 1024)
	read := func(want string, reads int) {
		t.Helper()
		o.reads = 0
		n, err := l.read(buf)
		switch {
		case want == "" && err != unix.EAGAIN:
			t.Fatalf("read: %q, %v; want EAGAIN", buf[:n], err)
		case want != "" && (err != nil || string(buf[:n]) != want):
			t.Fatalf("read: %q, %v; want %q", buf[:n], err, want)
		case o.reads != reads:
			t.Fatalf("read %q with %d reads of the transport, want %d", want, o.reads, reads)
		}
	}
	o.drained = true
	read("", 1) // crypto/tls asks the transport, which has nothing
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	o.drained, o.wait = false, testTimeout
	read("hello", 1) // a short read drains the socket: no Read after it
	read("", 0)
}

// fakeOwner is a TLS layer's owner over a net.Conn: a read waits up to
// wait (then the socket counts as empty), and is counted.
type fakeOwner struct {
	conn    net.Conn
	drained bool
	wait    time.Duration
	reads   int
}

func (o *fakeOwner) rawRead(p []byte) (int, error) {
	o.reads++
	if o.drained {
		return 0, errWouldBlock
	}
	_ = o.conn.SetReadDeadline(time.Now().Add(max(o.wait, 10*time.Millisecond)))
	n, err := o.conn.Read(p)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, errWouldBlock
	case err != nil:
		return 0, err
	case n < len(p):
		o.drained = true
	}
	return n, nil
}

func (o *fakeOwner) rawWrite(p []byte) error {
	_, err := o.conn.Write(p)
	return err
}

func (o *fakeOwner) rawDrained() bool { return o.drained }

func (o *fakeOwner) tlsAddrs() (local, remote net.Addr) {
	return o.conn.LocalAddr(), o.conn.RemoteAddr()
}

// A write longer than a record (several records) goes to the socket in
// one write(2), or two if the kernel takes only part of it at once.
func TestTLSWriteGathersRecords(t *testing.T) {
	f := newTLSFixture(t)
	sys := newSystem(t)
	conns := make(chan *Conn, 1)
	big := make([]byte, 3*maxRecordPlain+100) // four records
	l, err := Serve(testCtx(t), sys, "127.0.0.1:0", HandlerFunc(func(c *Conn, msg any) {
		switch m := msg.(type) {
		case *messages.Connected:
			conns <- c
		case *messages.Received:
			if string(m.GetData()) == "big" {
				_ = c.Write(big)
			} else {
				_ = c.Write(m.GetData())
			}
		}
	}), WithTLS(f.serverConfig()))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(testCtx(t))
	c, err := tls.Dial("tcp", l.Addr().String(), f.clientConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(testTimeout))
	roundTrip := func(msg string, want int) {
		t.Helper()
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, make([]byte, want)); err != nil {
			t.Fatal(err)
		}
	}
	writes := func(conn *Conn) uint64 {
		t.Helper()
		// Asked after the reply was read: the writes that sent it are counted.
		s := actors.SocketOf(sys, conn.PID())
		st, err := s.SocketStats(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		return st.GetWrites()
	}
	roundTrip("ping", 4) // the handshake's writes are done
	conn := <-conns
	before := writes(conn)
	roundTrip("big", len(big))
	if n := writes(conn) - before; n > 2 {
		t.Fatalf("four records took %d writes, want 1 (2 if the kernel took part)", n)
	}
}

// holdingTLSClient is a crypto/tls client of addr, its handshake done,
// over a connection whose writes the test can hold back (HoldConn) to
// send several records in one segment. It is closed at cleanup.
func holdingTLSClient(t *testing.T, addr string, cfg *tls.Config) (*testkit.HoldConn, *tls.Conn) {
	t.Helper()
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	held := &testkit.HoldConn{Conn: raw}
	c := tls.Client(held, cfg)
	t.Cleanup(func() { c.Close() })
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	return held, c
}
