package main

import (
	"context"
	"io"
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
