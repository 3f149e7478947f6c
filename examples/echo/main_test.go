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

// TestEchoInProcess runs the default mode (server and clients in one
// process) against both servers and checks the summary.
func TestEchoInProcess(t *testing.T) {
	for _, gonet := range []bool{false, true} {
		var out strings.Builder
		cfg := config{conns: 4, size: 64, duration: 200 * time.Millisecond, gonet: gonet}
		if err := run(cfg, &out); err != nil {
			t.Fatalf("run(gonet=%v): %v\n%s", gonet, err, out.String())
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
	srv, err := startServer(ctx, sys, "[::1]:0", false)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	cfg := config{conns: 3, size: 100, duration: 100 * time.Millisecond}
	sum, err := runClients(ctx, sys, srv.addr, cfg)
	if err != nil || sum.errors != 0 || sum.conns != 3 || sum.roundTrips == 0 {
		t.Fatalf("clients on IPv6: %+v, %v", sum, err)
	}
}

func TestEchoBadFlags(t *testing.T) {
	for _, cfg := range []config{
		{conns: 0, size: 64, duration: time.Second},
		{conns: 1, size: -1, duration: time.Second},
		{conns: 1, size: 64, duration: 0},
	} {
		if err := run(cfg, io.Discard); err == nil {
			t.Errorf("run(%+v) accepted bad flags", cfg)
		}
	}
}
