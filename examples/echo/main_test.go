package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/test/leakcheck"
	"github.com/actornet/actornet/test/testkit/certs"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// TestEchoInProcess runs the default mode (server and clients in one
// process) against both servers and checks the summary.
func TestEchoInProcess(t *testing.T) {
	for _, c := range []struct{ gonet, tls bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		var out strings.Builder
		cfg := config{conns: 4, size: 64, duration: 200 * time.Millisecond, gonet: c.gonet, tls: c.tls}
		if err := run(cfg, &out); err != nil {
			t.Fatalf("run(%+v): %v\n%s", c, err, out.String())
		}
		if c.tls && !strings.Contains(out.String(), "TLS") && !strings.Contains(out.String(), "crypto/tls") {
			t.Fatalf("a TLS run does not say so:\n%s", out.String())
		}
		s := out.String()
		if !strings.Contains(s, "connections 4 (errors 0)") || strings.Contains(s, "round trips 0 ") {
			t.Fatalf("summary:\n%s", s)
		}
	}
}

func TestEchoIPv6(t *testing.T) {
	sys, err := actors.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.StopNow()
	ctx := context.Background()
	srv, err := startServer(ctx, sys, "[::1]:0", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	cfg := config{conns: 3, size: 100, duration: 100 * time.Millisecond}
	sum, err := runClients(ctx, sys, srv.addr, cfg, nil)
	if err != nil || sum.errors != 0 || sum.conns != 3 || sum.roundTrips == 0 {
		t.Fatalf("clients on IPv6: %+v, %v", sum, err)
	}
}

func TestEchoBadFlags(t *testing.T) {
	for _, cfg := range []config{
		{conns: 0, size: 64, duration: time.Second},
		{conns: 1, size: -1, duration: time.Second},
		{conns: 1, size: maxSize + 1, duration: time.Second},
		{conns: 1, size: 64, duration: 0},
		{conns: 1, size: 64, duration: time.Second, rounds: -1},
	} {
		if err := run(cfg, io.Discard); err == nil {
			t.Errorf("run(%+v) accepted bad flags", cfg)
		}
	}
}

// TestEchoArgs: flags are parsed; a flag that would do nothing where it
// is given (a client's with -listen, -gonet with -connect), and a
// positional argument, are refused with why.
func TestEchoArgs(t *testing.T) {
	var msg strings.Builder
	cfg, err := parseArgs([]string{"-conns", "3", "-size", "100", "-connect", "127.0.0.1:7"}, &msg)
	if err != nil || cfg.conns != 3 || cfg.size != 100 || cfg.connect != "127.0.0.1:7" || cfg.duration != time.Second {
		t.Fatalf("parseArgs: %+v, %v\n%s", cfg, err, msg.String())
	}
	for _, args := range [][]string{{"-cert", "c.pem", "-key", "k.pem"}, {"-tls", "-cert", "c.pem"}, {"-insecure"}, {"-tls", "-connect", "x:1", "-cert", "c", "-key", "k"}, {"-tls", "-listen", "x:1", "-insecure"}, {"-ca", "ca.pem"}, {"-tls", "-listen", "x:1", "-ca", "ca.pem"}} {
		msg.Reset()
		if _, err := parseArgs(args, &msg); err == nil || !strings.Contains(msg.String(), "go") {
			t.Errorf("parseArgs(%q) = %v, said %q; want the TLS flags refused", args, err, msg.String())
		}
	}
	for _, args := range [][]string{{"-listen", "x:1", "-size", "100"}, {"-listen", "x:1", "-rounds", "2"}, {"-listen", "x:1", "-conns", "2"}, {"-listen", "x:1", "-duration", "2s"}, {"-listen", "x:1", "-connect", "x:2"}, {"-listen", "x:1", "-connect", "x:2", "-tls", "-insecure"}, {"-connect", "x:1", "-gonet"}, {"-tls", "-connect", "x:1", "-ca", "ca.pem", "-insecure"}} {
		msg.Reset()
		if _, err := parseArgs(args, &msg); err == nil || !strings.Contains(msg.String(), "go with") && !strings.Contains(msg.String(), "picks the server") && !strings.Contains(msg.String(), "give one") {
			t.Errorf("parseArgs(%q) = %v, said %q; want a flag that does nothing there refused", args, err, msg.String())
		}
	}
	for _, args := range [][]string{{"-listen", "x:1", "-gonet", "-tls"}, {"-tls", "-connect", "x:1", "-ca", "ca.pem"}, {"-connect", "x:1", "-size", "9", "-rounds", "3", "-duration", "2s", "-conns", "4"}} {
		msg.Reset()
		if _, err := parseArgs(args, &msg); err != nil {
			t.Errorf("parseArgs(%q) = %v (%s); want it accepted", args, err, msg.String())
		}
	}
	for _, args := range [][]string{{"foo"}, {"-conns", "2", "127.0.0.1:7000"}} {
		msg.Reset()
		if _, err := parseArgs(args, &msg); err == nil {
			t.Errorf("parseArgs(%q) accepted a positional argument", args)
		}
		if s := msg.String(); !strings.Contains(s, "unexpected argument") || !strings.Contains(s, "-duration") {
			t.Errorf("parseArgs(%q) said %q; want why, and the usage", args, s)
		}
	}
}

// TestEchoLargeMessage: a message larger than the socket buffers and the
// server's write queue together (a client that sent all of it before
// reading would stall: 16 MiB is four times the queue, and over what
// loopback's buffers grow to in a run) and than one RecvExact's
// piece makes two whole round trips (-rounds 2), on both servers.
func TestEchoLargeMessage(t *testing.T) {
	for _, gonet := range []bool{false, true} {
		t.Run(fmt.Sprint("gonet=", gonet), func(t *testing.T) {
			var out strings.Builder
			cfg := config{conns: 1, size: 16 << 20, rounds: 2, duration: time.Minute, gonet: gonet}
			if err := run(cfg, &out); err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			s := out.String()
			if !strings.Contains(s, "connections 1 (errors 0)") || !strings.Contains(s, "round trips 2 ") {
				t.Fatalf("summary:\n%s", s)
			}
			t.Log(s)
		})
	}
}

// TestEchoNoRoundTrip: a run in which no round trip completes fails,
// saying so (here the server reads and never answers).
func TestEchoNoRoundTrip(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(io.Discard, c) }()
		}
	}()
	var out strings.Builder
	err = run(config{connect: ln.Addr().String(), conns: 2, size: 64, duration: 100 * time.Millisecond}, &out)
	if err == nil || !strings.Contains(err.Error(), "no round trip") {
		t.Fatalf("run against a silent server: %v; want it to fail, saying no round trip completed\n%s", err, out.String())
	}
}

// TestEchoHalfClose: clients that send and half-close at once (as
// `nc -N` does) each get the echo of all they sent, then end of stream,
// from both servers and on both families.
func TestEchoHalfClose(t *testing.T) {
	for _, gonet := range []bool{false, true} {
		for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
			t.Run(fmt.Sprintf("gonet=%v/%s", gonet, addr), func(t *testing.T) {
				sys, err := actors.Start()
				if err != nil {
					t.Fatal(err)
				}
				defer sys.StopNow()
				srv, err := startServer(context.Background(), sys, addr, gonet, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer srv.close()
				const clients = 50
				errs := make(chan error, clients)
				for i := range clients {
					go func() { errs <- sendAndHalfClose(srv.addr, i) }()
				}
				for range clients {
					if err := <-errs; err != nil {
						t.Error(err)
					}
				}
			})
		}
	}
}

// sendAndHalfClose sends a few KiB, half-closes at once, and checks that
// the echo is all of it, then end of stream.
func sendAndHalfClose(addr string, i int) error {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	msg := bytes.Repeat([]byte(fmt.Sprintf("client %d\n", i)), 1+i*37%400)
	if _, err := conn.Write(msg); err != nil {
		return err
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	got, err := io.ReadAll(conn)
	if err != nil {
		return fmt.Errorf("client %d: %w after %d of %d bytes", i, err, len(got), len(msg))
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("client %d: sent %d bytes, the echo differs (%d bytes)", i, len(msg), len(got))
	}
	return nil
}

// TestEchoTLSFilesAndCA runs a server on -cert and -key files its CA
// signed: clients given -ca verify it; clients on the system's roots
// refuse it; a -ca file with no certificate is an error naming -ca.
func TestEchoTLSFilesAndCA(t *testing.T) {
	ca, err := certs.NewCA("echo test CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(certs.Leaf{Hosts: []string{"127.0.0.1", "::1", "localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile, caFile, err := ca.WriteFiles(dir, leaf)
	if err != nil {
		t.Fatal(err)
	}
	base := config{conns: 2, size: 64, duration: 100 * time.Millisecond, tls: true, cert: certFile, key: keyFile}

	var out strings.Builder
	cfg := base
	cfg.ca = caFile
	if err := run(cfg, &out); err != nil || !strings.Contains(out.String(), "connections 2 (errors 0)") {
		t.Fatalf("clients trusting -ca: %v\n%s", err, out.String())
	}

	out.Reset()
	if err := run(base, &out); err == nil {
		t.Fatalf("clients on the system's roots accepted a certificate of a CA they do not know:\n%s", out.String())
	}

	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	cfg.ca = notPEM
	if err := run(cfg, &out); err == nil || !strings.Contains(err.Error(), "-ca") {
		t.Fatalf("a -ca file with no certificate: %v; want an error naming -ca", err)
	}
}
