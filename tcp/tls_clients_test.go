package tcp

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/test/testkit"
	"github.com/actornet/actornet/test/testkit/certs"
)

// lookTool finds a client program; without it the test is skipped, unless
// ACTORNET_REQUIRE_TOOLS is set (CI installs them).
func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("ACTORNET_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s not found (ACTORNET_REQUIRE_TOOLS is set)", name)
		}
		t.Skipf("%s not found", name)
	}
	return p
}

// caFile writes the fixture's CA certificate as PEM for command-line
// clients.
func (f *tlsFixture) caFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.ca.Cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Clients users have: openssl s_client (sending and closing at once),
// curl against a handler that speaks just enough HTTP, and python's ssl,
// on both families, each verifying the server against the test CA.
func TestTLSRealClients(t *testing.T) {
	t.Parallel() // waits out timeouts or other processes
	f := newTLSFixture(t)
	ca := f.caFile(t)
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		l, _ := tlsEcho(t, sys, addr, nil, WithTLS(f.serverConfig()))
		host, port, _ := net.SplitHostPort(l.Addr().String())

		t.Run("openssl", func(t *testing.T) {
			// It sends, reads the echo, then its input ends: it sends
			// close_notify and exits, 0 if all went well.
			openssl := lookTool(t, "openssl")
			msg := strings.Repeat("line of text\n", 5000) // 65 KB: several records
			cmd := exec.Command(openssl, "s_client", "-connect", net.JoinHostPort(host, port), "-servername", "localhost",
				"-CAfile", ca, "-verify_return_error", "-quiet", "-no_ign_eof")
			in, out, stderr := testkit.Piped(t, cmd)
			timer := time.AfterFunc(testTimeout, func() { _ = cmd.Process.Kill() })
			defer timer.Stop()
			go func() { _, _ = io.WriteString(in, msg) }()
			got := make([]byte, len(msg))
			_, rerr := io.ReadFull(out, got)
			in.Close()
			if werr := cmd.Wait(); rerr != nil || werr != nil || string(got) != msg {
				t.Fatalf("openssl s_client: read %v, exit %v; echo whole: %v\n%s", rerr, werr, string(got) == msg, stderr.String())
			}
		})

		t.Run("python3", func(t *testing.T) {
			python := lookTool(t, "python3")
			const script = `
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[3])
data = bytes(range(256)) * 1000
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(data)
        got = bytearray()
        while len(got) < len(data):
            b = s.recv(65536)
            if not b:
                break
            got += b
        print(len(got), got == data, s.version())
`
			out, err := runWithin(t, exec.Command(python, "-c", script, host, port, ca))
			if err != nil || !strings.HasPrefix(string(out), "256000 True TLSv1.3") {
				t.Fatalf("python ssl: %v, %q", err, out)
			}
		})

		t.Run("curl", func(t *testing.T) {
			curl := lookTool(t, "curl")
			cfg := f.serverConfig()
			cfg.NextProtos = []string{"http/1.1"}
			hl, err := Serve(testCtx(t), sys, addr, PerConnection(func() Handler { return &httpOnce{} }), WithTLS(cfg))
			if err != nil {
				t.Fatal(err)
			}
			defer hl.Close(testCtx(t))
			url := "https://" + hl.Addr().String() + "/"
			out, err := runWithin(t, exec.Command(curl, "-sS", "--cacert", ca, "-w", " %{http_code}", url))
			if err != nil || string(out) != "hello over TLS\n 200" {
				t.Fatalf("curl %s: %v, %q", url, err, out)
			}
		})
	})
}

// httpOnce answers one HTTP request with 200 and closes.
type httpOnce struct{ req []byte }

func (h *httpOnce) Receive(c *Conn, msg any) {
	if m, ok := msg.(*messages.Received); ok {
		h.req = append(h.req, m.GetData()...)
		if bytes.Contains(h.req, []byte("\r\n\r\n")) {
			_ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 15\r\nConnection: close\r\n\r\nhello over TLS\n"))
			_ = c.Close()
		}
	}
}

// runWithin runs cmd, killing it after testTimeout, and returns its
// standard output.
func runWithin(t *testing.T, cmd *exec.Cmd) ([]byte, error) {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	timer := time.AfterFunc(testTimeout, func() {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
	})
	defer timer.Stop()
	out, err := cmd.Output()
	if err != nil {
		t.Logf("%s: %s", filepath.Base(cmd.Path), stderr.String())
	}
	return out, err
}

// StartService serves TLS too, and a second handshake from the same
// client resumes its session.
func TestTLSServiceAndResumption(t *testing.T) {
	f := newTLSFixture(t)
	sys := newSystem(t)
	conns := make(chan *messages.Connected, 4)
	svc, err := StartService(testCtx(t), sys, "127.0.0.1:0", HandlerFunc(func(c *Conn, msg any) {
		switch m := msg.(type) {
		case *messages.Connected:
			conns <- m
		case *messages.Received:
			_ = c.Write(m.GetData())
		}
	}), WithTLS(f.serverConfig()))
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Stop(testCtx(t))
	cfg := f.clientConfig()
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	for i, wantResumed := range []bool{false, true} {
		c, err := tls.Dial("tcp", svc.Addr().String(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		// The session ticket comes after the handshake: a round trip
		// makes sure the client has it.
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if got := (<-conns).GetTls().GetDidResume(); got != wantResumed {
			t.Fatalf("connection %d: DidResume = %v, want %v", i, got, wantResumed)
		}
	}
}

// GetCertificate changes the certificate without a restart: the next
// handshake gets the new one.
func TestTLSCertificateReload(t *testing.T) {
	f := newTLSFixture(t)
	sys := newSystem(t)
	second, err := f.ca.Issue(certs.Leaf{Hosts: []string{"localhost"}, Name: "second"})
	if err != nil {
		t.Fatal(err)
	}
	var current atomic.Pointer[tls.Certificate]
	current.Store(&f.server)
	cfg := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return current.Load(), nil }}
	l, _ := tlsEcho(t, sys, "127.0.0.1:0", nil, WithTLS(cfg))
	leaf := func() string {
		c, err := tls.Dial("tcp", l.Addr().String(), f.clientConfig())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := leaf(); got != "" {
		t.Fatalf("first certificate's name = %q", got)
	}
	current.Store(&second)
	if got := leaf(); got != "second" {
		t.Fatalf("after the reload: %q, want the second certificate", got)
	}
}

// Connections that die mid-handshake, and a system stopped with
// handshakes in flight, leave no goroutine (each handshake runs as a
// coroutine: TestMain's leak check would find one left) and no fd.
func TestTLSDiesMidHandshake(t *testing.T) {
	f := newTLSFixture(t)
	sys := newSystem(t)
	l, failed := tlsEcho(t, sys, "127.0.0.1:0", nil, WithTLS(f.serverConfig()))
	hello := clientHello(t)
	var open []net.Conn
	for i := range 20 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(hello[:len(hello)/2]); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			c.Close() // dies mid-handshake
			waitFailed(t, failed)
			continue
		}
		open = append(open, c)
	}
	// Ten handshakes are waiting for the rest of their ClientHello; the
	// system stops under them (newSystem's cleanup, before these close).
	t.Cleanup(func() {
		for _, c := range open {
			c.Close()
		}
	})
}

// A handler's Close sends close_notify before the FIN (TLS 1.2 shows the
// alert's record type), so the peer knows the stream was not cut.
func TestTLSCloseNotify(t *testing.T) {
	f := newTLSFixture(t)
	sys := newSystem(t)
	l, err := Serve(testCtx(t), sys, "127.0.0.1:0", HandlerFunc(func(c *Conn, msg any) {
		if _, ok := msg.(*messages.Connected); ok {
			_ = c.Write([]byte("bye"))
			_ = c.Close()
		}
	}), WithTLS(f.serverConfig()))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(testCtx(t))
	raw, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingConn{Conn: raw}
	cfg := f.clientConfig()
	cfg.MaxVersion = tls.VersionTLS12
	c := tls.Client(rec, cfg)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(testTimeout))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "bye" {
		t.Fatalf("read %q, %v", got, err)
	}
	if typ := rec.lastRecordType(); typ != 0x15 {
		t.Fatalf("the last record before the FIN has type %#x; want an alert (close_notify)", typ)
	}
}

// Records that arrived with the one being handled wait inside the TLS
// layer, not in the socket: when a handler that paused reading resumes,
// they are delivered though no new byte arrives. (A read takes as many
// records as fit: 3-byte reads leave "two" and "three" in the layer.)
func TestTLSPauseWithRecordsBuffered(t *testing.T) {
	f := newTLSFixture(t)
	sys := newSystem(t)
	got := make(chan string, 8)
	paused := make(chan *Conn, 1)
	first := true
	l, err := Serve(testCtx(t), sys, "127.0.0.1:0", HandlerFunc(func(c *Conn, msg any) {
		if m, ok := msg.(*messages.Received); ok {
			got <- string(m.GetData())
			if first {
				first = false
				c.PauseReading()
				paused <- c
			}
		}
	}), WithTLS(f.serverConfig()), WithReadSize(3))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(testCtx(t))
	held, c := holdingTLSClient(t, l.Addr().String(), f.clientConfig())
	held.Hold = true
	for _, s := range []string{"one", "two", "three"} {
		if _, err := c.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	held.Hold = false
	if _, err := held.Conn.Write(held.Held); err != nil { // three records, one segment
		t.Fatal(err)
	}
	var conn *Conn
	select {
	case conn = <-paused:
	case <-time.After(testTimeout):
		t.Fatal("no record delivered")
	}
	if s := <-got; s != "one" {
		t.Fatalf("first Received %q, want %q", s, "one")
	}
	select {
	case s := <-got:
		t.Fatalf("%q delivered while paused", s)
	default:
	}
	sys.Root().Send(conn.PID(), &messages.ResumeReading{})
	var rest string
	for rest != "twothree" {
		select {
		case s := <-got:
			rest += s
			if !strings.HasPrefix("twothree", rest) {
				t.Fatalf("after ResumeReading: %q, want %q", rest, "twothree")
			}
		case <-time.After(testTimeout):
			t.Fatalf("after ResumeReading: %q of %q delivered", rest, "twothree")
		}
	}
}

// Framing runs over TLS: frames are cut from the plaintext, and each
// Write is framed before it is encrypted.
func TestTLSWithFraming(t *testing.T) {
	f := newTLSFixture(t)
	sys := newSystem(t)
	lines, err := Lines(64)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Serve(testCtx(t), sys, "127.0.0.1:0", HandlerFunc(func(c *Conn, msg any) {
		if m, ok := msg.(*messages.Received); ok {
			_ = c.Write(bytes.ToUpper(m.GetData()))
		}
	}), WithTLS(f.serverConfig()), WithFraming(lines))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(testCtx(t))
	c, err := tls.Dial("tcp", l.Addr().String(), f.clientConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("one\ntw")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("o\nthree\n")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len("ONE\nTWO\nTHREE\n"))
	_ = c.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "ONE\nTWO\nTHREE\n" {
		t.Fatalf("got %q, %v", got, err)
	}
}
