package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/test/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestUDPEchoInProcess(t *testing.T) {
	for _, gonet := range []bool{false, true} {
		var out strings.Builder
		cfg := config{conns: 4, size: 64, duration: 200 * time.Millisecond, wait: time.Second, gonet: gonet}
		if err := run(cfg, &out); err != nil {
			t.Fatalf("run(gonet=%v): %v\n%s", gonet, err, out.String())
		}
		if s := out.String(); !strings.Contains(s, "peers 4 (errors 0)") || strings.Contains(s, "echoed 0 ") {
			t.Fatalf("summary:\n%s", s)
		}
	}
}

func TestUDPEchoIPv6(t *testing.T) {
	sys, err := actors.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.StopNow()
	ctx := context.Background()
	srv, err := startServer(ctx, sys, "[::1]:0", false)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	sum, err := runClients(ctx, sys, srv.addr, config{conns: 3, size: 100, duration: 100 * time.Millisecond, wait: time.Second})
	if err != nil || sum.errors != 0 || sum.peers != 3 || sum.echoed == 0 {
		t.Fatalf("clients on IPv6: %+v, %v", sum, err)
	}
}

func TestUDPEchoBadFlags(t *testing.T) {
	for _, cfg := range []config{
		{conns: 0, size: 64, duration: time.Second, wait: time.Second},
		{conns: 1, size: 70000, duration: time.Second, wait: time.Second},
		{conns: 1, size: 64, duration: time.Second, wait: 0},
	} {
		if err := run(cfg, io.Discard); err == nil {
			t.Errorf("run(%+v) accepted bad flags", cfg)
		}
	}
}

// TestUDPEchoLargestDatagram: the server echoes the largest IPv4 datagram
// whole.
func TestUDPEchoLargestDatagram(t *testing.T) {
	var out strings.Builder
	cfg := config{conns: 2, size: 65507, duration: 200 * time.Millisecond, wait: time.Second}
	if err := run(cfg, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if s := out.String(); !strings.Contains(s, "peers 2 (errors 0)") || strings.Contains(s, "echoed 0 ") {
		t.Fatalf("summary:\n%s", s)
	}
}

// TestUDPEchoArgs: flags are parsed; a positional argument is refused with
// the usage.
func TestUDPEchoArgs(t *testing.T) {
	var msg strings.Builder
	cfg, err := parseArgs([]string{"-conns", "3", "-wait", "1s", "-connect", "127.0.0.1:7"}, &msg)
	if err != nil || cfg.conns != 3 || cfg.wait != time.Second || cfg.connect != "127.0.0.1:7" || cfg.size != 64 {
		t.Fatalf("parseArgs: %+v, %v\n%s", cfg, err, msg.String())
	}
	for _, args := range [][]string{{"foo"}, {"-conns", "2", "127.0.0.1:7000"}} {
		msg.Reset()
		if _, err := parseArgs(args, &msg); err == nil {
			t.Errorf("parseArgs(%q) accepted a positional argument", args)
		}
		if s := msg.String(); !strings.Contains(s, "unexpected argument") || !strings.Contains(s, "-wait") {
			t.Errorf("parseArgs(%q) said %q; want why, and the usage", args, s)
		}
	}
}

// TestUDPEchoFails: a run fails, saying why, when nothing answers (nothing
// listens: connection refused; or a socket that never answers), and when
// any echo is wrong (different bytes, or longer than what was sent).
func TestUDPEchoFails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func([]byte) []byte // nil: nothing listens
		want   []string            // in the error
	}{
		{name: "nothing listens", want: []string{"nothing answered at 127.0.0.1:", "connection refused"}},
		{name: "silent", answer: func([]byte) []byte { return nil }, want: []string{"nothing answered at 127.0.0.1:", "is a UDP echo server running there?"}},
		{name: "different bytes", answer: bytes.ToUpper, want: []string{"clients failed", "the echo (64 bytes) differs"}},
		{name: "longer", answer: func(p []byte) []byte { return append(p, "and more"...) }, want: []string{"clients failed", "truncated"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := goServer(t, tc.answer)
			var out strings.Builder
			err := run(config{connect: addr, conns: 2, size: 64, duration: 100 * time.Millisecond, wait: 50 * time.Millisecond}, &out)
			if err == nil {
				t.Fatalf("run succeeded:\n%s", out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("run: %v; want it to say %q\n%s", err, w, out.String())
				}
			}
		})
	}
}

// goServer runs a Go net UDP server on 127.0.0.1 that sends answer(p)
// back for each datagram p (none if answer returns nil). With a nil
// answer, nothing listens at the address it returns (it was bound once,
// then closed).
func goServer(t *testing.T, answer func([]byte) []byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	if answer == nil {
		pc.Close()
		return addr
	}
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if a := answer(buf[:n]); a != nil {
				_, _ = pc.WriteTo(a, from)
			}
		}
	}()
	return addr
}
