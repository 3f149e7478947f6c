package tcp

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pipe returns a connected pair of Conns (client side, accepted side) on
// addr's family.
func pipe(t *testing.T, addr string) (*NetConn, *NetConn) {
	t.Helper()
	l, dialer := newListener(t, addr)
	accepted := l.AcceptAsync(time.Second)
	client := dialer()
	srv, err := l.Accepted(mustWait(t, accepted), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	a, err := NewNetConn(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewNetConn(ctx, srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestConnReadWriteAndAddrs(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		a, b := pipe(t, addr)
		if a.LocalAddr().String() != b.RemoteAddr().String() || a.RemoteAddr().String() != b.LocalAddr().String() {
			t.Fatalf("addresses do not match: %v→%v, %v→%v", a.LocalAddr(), a.RemoteAddr(), b.LocalAddr(), b.RemoteAddr())
		}
		go func() { a.Write([]byte("hello\n")) }()
		line, err := bufio.NewReader(b).ReadString('\n')
		if err != nil || line != "hello\n" {
			t.Fatalf("ReadString = %q, %v", line, err)
		}
		if err := a.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if n, err := b.Read(make([]byte, 4)); n != 0 || err != io.EOF {
			t.Fatalf("Read after the peer's CloseWrite = %d, %v; want io.EOF itself", n, err)
		}
	})
}

func TestConnDeadlines(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		a, b := pipe(t, addr)
		a.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
		n, err := a.Read(make([]byte, 8))
		var ne net.Error
		if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("Read past the deadline = %d, %v; want a timeout net.Error", n, err)
		}
		// A deadline in the past fails at once; clearing it lets Read wait.
		a.SetReadDeadline(time.Now().Add(-time.Second))
		if _, err := a.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read with a past deadline = %v", err)
		}
		a.SetReadDeadline(time.Time{})
		done := make(chan string)
		go func() {
			buf := make([]byte, 8)
			n, _ := a.Read(buf)
			done <- string(buf[:n])
		}()
		// Moving the deadline while a Read waits applies to that Read: set a
		// far one, then write: the Read gets the data, not a timeout.
		a.SetReadDeadline(time.Now().Add(time.Hour))
		b.Write([]byte("late"))
		select {
		case got := <-done:
			if got != "late" {
				t.Fatalf("Read got %q", got)
			}
		case <-time.After(testTimeout):
			t.Fatal("Read never returned")
		}
		// A Read withdrawn at its deadline leaves the stream intact.
		a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		a.Read(make([]byte, 8))
		a.SetReadDeadline(time.Time{})
		b.Write([]byte("next"))
		buf := make([]byte, 4)
		if _, err := io.ReadFull(a, buf); err != nil || string(buf) != "next" {
			t.Fatalf("after a timed-out Read: %q, %v", buf, err)
		}
	})
}

func TestConnCloseUnblocksRead(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		a, _ := pipe(t, addr)
		errc := make(chan error, 1)
		go func() {
			_, err := a.Read(make([]byte, 8))
			errc <- err
		}()
		// The Read is parked in the actor or about to be; Close must end it.
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errc:
			if !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Read after Close = %v; want net.ErrClosed", err)
			}
		case <-time.After(testTimeout):
			t.Fatal("Close did not unblock Read")
		}
		if err := a.Close(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("second Close = %v", err)
		}
	})
}

// selfSigned makes a certificate for 127.0.0.1 and ::1.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "actornet test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestTLSOverActors(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		cert, pool := selfSigned(t)
		sys := newSystem(t)
		l, err := Listen(testCtx(t), sys, addr)
		if err != nil {
			t.Fatal(err)
		}
		ln := tls.NewListener(NewNetListener(l), &tls.Config{Certificates: []tls.Certificate{cert}})
		defer ln.Close()
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			buf := make([]byte, 64)
			n, _ := c.Read(buf)
			c.Write(buf[:n])
		}()
		client := dial(t, sys, l.Addr().String())
		conn, err := NewNetConn(testCtx(t), client)
		if err != nil {
			t.Fatal(err)
		}
		tc := tls.Client(conn, &tls.Config{RootCAs: pool, ServerName: l.Addr().Addr().String()})
		defer tc.Close()
		if err := tc.HandshakeContext(testCtx(t)); err != nil {
			t.Fatalf("handshake: %v", err)
		}
		if _, err := tc.Write([]byte("secret")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 6)
		if _, err := io.ReadFull(tc, buf); err != nil || string(buf) != "secret" {
			t.Fatalf("echo over TLS = %q, %v", buf, err)
		}
		wg.Wait()
	})
}

func TestHTTPOverActors(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		l, err := Listen(testCtx(t), sys, addr)
		if err != nil {
			t.Fatal(err)
		}
		nl := NewNetListener(l)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello from an actor, "+r.URL.Path)
		})}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(nl) }()

		transport := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := Dial(ctx, sys, addr)
			if err != nil {
				return nil, err
			}
			return NewNetConn(ctx, c)
		}}
		hc := &http.Client{Transport: transport, Timeout: testTimeout}
		for i := 0; i < 3; i++ { // the second and third reuse the kept-alive NetConn
			resp, err := hc.Get("http://" + l.Addr().String() + "/path")
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(body) != "hello from an actor, /path" {
				t.Fatalf("GET = %q, %v", body, err)
			}
		}
		transport.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Fatalf("Serve = %v", err)
		}
	})
}

// TestNewConnOfUnconnectedClient: wrapping a client that never connected
// fails, saying so, and closes the client (the NetConn owned it).
func TestNewConnOfUnconnectedClient(t *testing.T) {
	sys := newSystem(t)
	c, err := NewClient(sys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewNetConn(testCtx(t), c); !errors.Is(err, syscall.ENOTCONN) {
		t.Fatalf("NewNetConn of an unconnected client = %v; want ENOTCONN", err)
	}
	if err := c.Close(testCtx(t)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("the client after a failed NewNetConn: Close = %v; want it closed already", err)
	}
}
