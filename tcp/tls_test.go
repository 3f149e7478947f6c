package tcp

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/test/testkit/certs"
)

// tlsFixture is a CA, a server certificate it signed for the loopback
// names, and a client certificate.
type tlsFixture struct {
	ca     *certs.CA
	server tls.Certificate
	client tls.Certificate
}

func newTLSFixture(t testing.TB) *tlsFixture {
	t.Helper()
	ca, err := certs.NewCA("actornet test CA")
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.Issue(certs.Leaf{Hosts: []string{"localhost", "127.0.0.1", "::1"}})
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Issue(certs.Leaf{Name: "client-1", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	return &tlsFixture{ca: ca, server: server, client: client}
}

func (f *tlsFixture) serverConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{f.server}, NextProtos: []string{"echo/1", "h2"}}
}

func (f *tlsFixture) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: f.ca.Pool, ServerName: "localhost", NextProtos: []string{"echo/1"}}
}

// tlsEcho is a push-mode TLS echo server; each Connected goes to conns.
func tlsEcho(t *testing.T, sys *actors.System, addr string, conns chan<- *messages.Connected, opts ...ServeOption) (*Listener, <-chan *HandshakeFailed) {
	t.Helper()
	failed := make(chan *HandshakeFailed, 16)
	sub := sys.Actors.EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(*HandshakeFailed); ok {
			select {
			case failed <- e:
			default:
			}
		}
	})
	t.Cleanup(func() { sys.Actors.EventStream.Unsubscribe(sub) })
	l, err := Serve(testCtx(t), sys, addr, HandlerFunc(func(c *Conn, msg any) {
		switch m := msg.(type) {
		case *messages.Connected:
			if c.TLS() == nil || m.GetTls() == nil {
				t.Errorf("Connected on a TLS server without its TLS state: %v", m)
			}
			if conns != nil {
				conns <- m
			}
		case *messages.Received:
			if err := c.Write(m.GetData()); err != nil {
				t.Errorf("echo write: %v", err)
			}
		}
	}), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(testCtx(t)) })
	return l, failed
}

func waitFailed(t *testing.T, failed <-chan *HandshakeFailed) *HandshakeFailed {
	t.Helper()
	select {
	case e := <-failed:
		return e
	case <-time.After(testTimeout):
		t.Fatal("no HandshakeFailed published")
		return nil
	}
}

// Go's crypto/tls client talks to a push-mode TLS server on both
// families: ALPN, the server name, sizes up to several records, and a
// half-close after sending (close_notify), answered in full.
func TestTLSEcho(t *testing.T) {
	f := newTLSFixture(t)
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		conns := make(chan *messages.Connected, 1)
		l, _ := tlsEcho(t, sys, addr, conns, WithTLS(f.serverConfig()))
		c, err := tls.Dial("tcp", l.Addr().String(), f.clientConfig())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if p := c.ConnectionState().NegotiatedProtocol; p != "echo/1" {
			t.Fatalf("client's ALPN = %q", p)
		}
		ev := <-conns
		if st := ev.GetTls(); st.GetNegotiatedProtocol() != "echo/1" || st.GetServerName() != "localhost" || st.GetVersion() != tls.VersionTLS13 {
			t.Fatalf("Connected.Tls = %v", st)
		}
		for _, n := range []int{1, 64, 4 << 10, 100 << 10} {
			msg := bytes.Repeat([]byte{byte(n)}, n)
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, n)
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatalf("%d bytes: %v", n, err)
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("%d bytes: echo differs", n)
			}
		}
		// Send and half-close at once: everything sent is answered, then
		// the server's close_notify ends the stream.
		last := bytes.Repeat([]byte("z"), 70<<10)
		if _, err := c.Write(last); err != nil {
			t.Fatal(err)
		}
		if err := c.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(testTimeout))
		got, err := io.ReadAll(c)
		if err != nil || !bytes.Equal(got, last) {
			t.Fatalf("after CloseWrite: %d bytes, %v; want %d and EOF", len(got), err, len(last))
		}
	})
}

// The client's certificate reaches the handler; a client without one is
// refused at the handshake when the server requires one, and the handler
// never hears of it.
func TestTLSClientCertificate(t *testing.T) {
	f := newTLSFixture(t)
	sys := newSystem(t)
	cfg := f.serverConfig()
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	cfg.ClientCAs = f.ca.Pool
	conns := make(chan *messages.Connected, 2)
	l, failed := tlsEcho(t, sys, "127.0.0.1:0", conns, WithTLS(cfg))

	ccfg := f.clientConfig()
	ccfg.Certificates = []tls.Certificate{f.client}
	c, err := tls.Dial("tcp", l.Addr().String(), ccfg)
	if err != nil {
		t.Fatal(err)
	}
	ev := <-conns
	peer := ev.GetTls().GetPeerCertificates()
	if len(peer) != 1 {
		t.Fatalf("peer certificates: %d", len(peer))
	}
	cert, err := x509.ParseCertificate(peer[0])
	if err != nil || cert.Subject.CommonName != "client-1" {
		t.Fatalf("peer certificate %v, %v", cert, err)
	}
	c.Close()

	// No client certificate: the server refuses; with TLS 1.3 the client
	// hears of it at its first read.
	c, err = tls.Dial("tcp", l.Addr().String(), f.clientConfig())
	if err == nil {
		_ = c.SetReadDeadline(time.Now().Add(testTimeout))
		_, err = c.Read(make([]byte, 1))
		c.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("client without a certificate: %v; want a certificate alert", err)
	}
	e := waitFailed(t, failed)
	if !strings.Contains(e.Err.Error(), "tls handshake") || !strings.Contains(e.Err.Error(), "certificate") {
		t.Fatalf("HandshakeFailed.Err = %v", e.Err)
	}
	select {
	case ev := <-conns:
		t.Fatalf("the handler heard of a refused client: %v", ev)
	default:
	}
	if got := sys.Metrics().Sockets[actors.MetricKey{Kind: "tcp.conn", Service: l.Addr().String()}]; got.Handshakes != 1 || got.HandshakeErrors != 1 {
		t.Fatalf("metrics: %d handshakes, %d failed; want 1 and 1", got.Handshakes, got.HandshakeErrors)
	}
}

// Bad clients: each handshake fails with an error naming it, is counted,
// and the connection closes; the server goes on serving.
func TestTLSBadHandshakes(t *testing.T) {
	t.Parallel() // waits out timeouts or other processes
	f := newTLSFixture(t)
	sys := newSystem(t)
	l, failed := tlsEcho(t, sys, "127.0.0.1:0", nil, WithTLS(f.serverConfig()), WithHandshakeTimeout(300*time.Millisecond))
	addr := l.Addr().String()

	raw := func(t *testing.T, send []byte, halfClose bool) []byte {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if len(send) > 0 {
			if _, err := c.Write(send); err != nil {
				t.Fatal(err)
			}
		}
		if halfClose {
			_ = c.(*net.TCPConn).CloseWrite()
		}
		_ = c.SetReadDeadline(time.Now().Add(testTimeout))
		got, err := io.ReadAll(c)
		if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("the server did not close: %v", err)
		}
		return got
	}

	t.Run("plaintext", func(t *testing.T) {
		got := raw(t, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), false)
		if len(got) > 0 && got[0] != 0x15 { // an alert record, if anything
			t.Fatalf("the server answered plaintext with %q", got)
		}
		if e := waitFailed(t, failed); !strings.Contains(e.Err.Error(), "tls handshake") {
			t.Fatalf("HandshakeFailed.Err = %v", e.Err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		hello := clientHello(t)
		raw(t, hello[:len(hello)/2], true)
		if e := waitFailed(t, failed); !strings.Contains(e.Err.Error(), "tls handshake") {
			t.Fatalf("HandshakeFailed.Err = %v", e.Err)
		}
	})
	t.Run("stalled", func(t *testing.T) {
		// Half a ClientHello and then nothing: the deadline closes it.
		hello := clientHello(t)
		raw(t, hello[:len(hello)/2], false)
		e := waitFailed(t, failed)
		if !errors.Is(e.Err, os.ErrDeadlineExceeded) || !strings.Contains(e.Err.Error(), "tls handshake") {
			t.Fatalf("HandshakeFailed.Err = %v; want a handshake timeout", e.Err)
		}
	})
	t.Run("silent", func(t *testing.T) {
		raw(t, nil, false)
		if e := waitFailed(t, failed); !errors.Is(e.Err, os.ErrDeadlineExceeded) {
			t.Fatalf("HandshakeFailed.Err = %v; want a handshake timeout", e.Err)
		}
	})
	t.Run("wrong name", func(t *testing.T) {
		cfg := f.clientConfig()
		cfg.ServerName = "other.example"
		_, err := tls.Dial("tcp", addr, cfg)
		var herr x509.HostnameError
		if !errors.As(err, &herr) {
			t.Fatalf("Dial with a wrong name: %v", err)
		}
		waitFailed(t, failed) // the client's alert
	})
	t.Run("expired", func(t *testing.T) {
		old, err := f.ca.Issue(certs.Leaf{Hosts: []string{"localhost"}, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		sys := newSystem(t)
		l, failed := tlsEcho(t, sys, "127.0.0.1:0", nil, WithTLS(&tls.Config{Certificates: []tls.Certificate{old}}))
		_, err = tls.Dial("tcp", l.Addr().String(), f.clientConfig())
		var cerr x509.CertificateInvalidError
		if !errors.As(err, &cerr) || cerr.Reason != x509.Expired {
			t.Fatalf("Dial to an expired certificate: %v", err)
		}
		waitFailed(t, failed)
	})
	// After all that, a good client is served.
	c, err := tls.Dial("tcp", addr, f.clientConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("still here")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 10)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "still here" {
		t.Fatalf("echo after bad clients: %q, %v", got, err)
	}
}

// clientHello returns the first flight of a Go TLS client.
func clientHello(t *testing.T) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		_ = tls.Client(a, &tls.Config{ServerName: "localhost"}).Handshake()
	}()
	buf := make([]byte, 4096)
	n, err := b.Read(buf) // a ClientHello is one record, written at once
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

// WithTLS and WithHandshakeTimeout refuse what cannot work.
func TestTLSOptionErrors(t *testing.T) {
	sys := newSystem(t)
	for _, c := range []struct {
		opt  ServeOption
		want string
	}{
		{WithTLS(nil), "WithTLS(nil)"},
		{WithTLS(&tls.Config{}), "no certificate"},
		{WithHandshakeTimeout(0), "WithHandshakeTimeout(0s)"},
		{WithHandshakeTimeout(time.Second), "needs WithTLS"},
	} {
		_, err := Serve(testCtx(t), sys, "127.0.0.1:0", HandlerFunc(func(*Conn, any) {}), c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "listen") {
			t.Errorf("Serve with a bad option: %v; want an error naming %q", err, c.want)
		}
	}
}

// DialTLS talks to Go's crypto/tls server and to a push-mode TLS server:
// the name to verify comes from the address, Send and RecvExact carry
// plaintext, Close sends close_notify.
func TestDialTLS(t *testing.T) {
	f := newTLSFixture(t)
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		ctx := testCtx(t)
		// Go's server runs TLS 1.2, whose alerts show their record type:
		// it reports whether the last record before the FIN was one.
		eofs := make(chan error, 1)
		goAddr := goServer(t, addr, func(c net.Conn) {
			rec := &recordingConn{Conn: c}
			cfg := f.serverConfig()
			cfg.MaxVersion = tls.VersionTLS12
			tc := tls.Server(rec, cfg)
			defer tc.Close()
			buf := make([]byte, 64<<10)
			for {
				n, err := tc.Read(buf)
				if err != nil {
					if err == io.EOF && rec.lastRecordType() != 0x15 {
						err = errors.New("EOF without close_notify")
					}
					eofs <- err
					return
				}
				if _, err := tc.Write(buf[:n]); err != nil {
					return
				}
			}
		})
		l, _ := tlsEcho(t, sys, addr, nil, WithTLS(f.serverConfig()))
		for _, srv := range []struct{ name, addr string }{{"gotls", goAddr}, {"actornet", l.Addr().String()}} {
			t.Run(srv.name, func(t *testing.T) {
				// The server's certificate names localhost and the
				// loopback IPs: the dialed host is what is verified.
				cfg := &tls.Config{RootCAs: f.ca.Pool, NextProtos: []string{"echo/1"}}
				c, err := DialTLS(ctx, sys, srv.addr, cfg)
				if err != nil {
					t.Fatal(err)
				}
				st := c.TLS()
				if st == nil || st.Version < tls.VersionTLS12 || len(st.PeerCertificates) == 0 {
					t.Fatalf("TLS() = %+v", st)
				}
				for _, n := range []int{1, 64, 100 << 10} {
					msg := bytes.Repeat([]byte{byte(n)}, n)
					if sent, err := c.Send(ctx, msg); err != nil || sent != n {
						t.Fatalf("Send(%d) = %d, %v", n, sent, err)
					}
					got, err := c.RecvExact(ctx, n)
					if err != nil || !bytes.Equal(got, msg) {
						t.Fatalf("RecvExact(%d): %d bytes, %v", n, len(got), err)
					}
				}
				if err := c.Close(ctx); err != nil {
					t.Fatal(err)
				}
				if srv.name == "gotls" {
					select {
					case err := <-eofs:
						if err != io.EOF {
							t.Fatalf("the server read %v at Close; want io.EOF (close_notify)", err)
						}
					case <-time.After(testTimeout):
						t.Fatal("the server did not see the close")
					}
				}
			})
		}
	})
}

// recordingConn keeps the bytes read through it.
type recordingConn struct {
	net.Conn
	in []byte
}

func (r *recordingConn) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.in = append(r.in, p[:n]...)
	return n, err
}

// lastRecordType returns the type of the last whole TLS record read.
func (r *recordingConn) lastRecordType() byte {
	var last byte
	for b := r.in; len(b) >= 5; {
		n := 5 + int(b[3])<<8 + int(b[4])
		if n > len(b) {
			break
		}
		last, b = b[0], b[n:]
	}
	return last
}

// DialTLS verifies the server by default, names the handshake in its
// errors, and gives up at ctx's deadline on a server that never answers.
func TestDialTLSErrors(t *testing.T) {
	t.Parallel() // waits out timeouts or other processes
	f := newTLSFixture(t)
	sys := newSystem(t)
	l, _ := tlsEcho(t, sys, "127.0.0.1:0", nil, WithTLS(f.serverConfig()))

	_, err := DialTLS(testCtx(t), sys, l.Addr().String(), &tls.Config{})
	var uerr x509.UnknownAuthorityError
	if !errors.As(err, &uerr) || !strings.Contains(err.Error(), "tls handshake") {
		t.Fatalf("DialTLS to an unknown authority: %v", err)
	}
	_, err = DialTLS(testCtx(t), sys, l.Addr().String(), &tls.Config{RootCAs: f.ca.Pool, ServerName: "other.example"})
	var herr x509.HostnameError
	if !errors.As(err, &herr) {
		t.Fatalf("DialTLS with another name: %v", err)
	}
	if _, err := DialTLS(testCtx(t), sys, l.Addr().String(), nil); !errors.As(err, &uerr) {
		t.Fatalf("DialTLS(nil config), the system's roots: %v; want an unknown authority", err)
	}

	// A server that accepts and says nothing. (The deadline covers the
	// connect too: 200 ms was once spent before the handshake began, under
	// load.)
	silent := goServer(t, "127.0.0.1:0", func(c net.Conn) {
		_, _ = io.Copy(io.Discard, c)
		c.Close()
	})
	_, err = DialTLS(within(t, 500*time.Millisecond), sys, silent, &tls.Config{RootCAs: f.ca.Pool})
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "tls handshake") {
		t.Fatalf("DialTLS to a silent server: %v; want a handshake timeout", err)
	}
}

// DialTLS sends the dialed host name as SNI and verifies the certificate
// for it.
func TestDialTLSServerName(t *testing.T) {
	f := newTLSFixture(t)
	sys := newSystem(t)
	conns := make(chan *messages.Connected, 1)
	l, _ := tlsEcho(t, sys, "127.0.0.1:0", conns, WithTLS(f.serverConfig()))
	_, port, _ := net.SplitHostPort(l.Addr().String())
	c, err := DialTLS(testCtx(t), sys, net.JoinHostPort("localhost", port), &tls.Config{RootCAs: f.ca.Pool}, WithNoDelay(true))
	if err != nil {
		t.Skipf("localhost does not reach 127.0.0.1 here: %v", err)
	}
	defer c.Close(testCtx(t))
	if got := (<-conns).GetTls().GetServerName(); got != "localhost" {
		t.Fatalf("the server saw SNI %q, want localhost", got)
	}
}
