package main

import (
	"context"
	"strings"
	"testing"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/test/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// TestTour runs the tour and checks each step reported what it should,
// in words a user reads (no status constant's name).
func TestTour(t *testing.T) {
	var b strings.Builder
	if err := run(&b); err != nil {
		t.Fatalf("tour: %v\n%s", err, b.String())
	}
	want := []struct{ step, result string }{ // result: the start of what it reports
		{"poll(write): send space is free", "event"},
		{"poll(read, 50ms): nothing sent yet", "timeout"},
		{"poll(read) while the peer writes", "event"},
		{"poll(read) after the peer hung up", "closed (poll: EOF)"},
		{"close with a poll pending: the poll is", "cancelled ("},
		{"close again", "close: use of closed network connection"},
		{"tcp: dial it", "connected"},
		{"tcp: send 12 bytes, read the echo", "echoed"},
		{"udp: send a datagram, read the echo", "echoed"},
		{"udp: read 8 of 33 bytes", "truncated"},
		{"udp: receive on a send-only peer", "recvfrom udp: udp peer not bound"},
		{"unix: serve on unix:@name, dial, echo", "echoed; its handler saw the peer pid="},
		{"service: inject a crash into its listener", "restarted"},
		{"service: the connection open at the crash", "echoes"},
		{"service: a new connection, same address", "echoes"},
		{"service: drain and stop", "2 connections closed cleanly"},
	}
	walk, metrics, ok := strings.Cut(b.String(), "metrics (System.Metrics")
	if !ok {
		t.Fatalf("no metrics at the end of the tour:\n%s", b.String())
	}
	lines := strings.Split(walk, "\n")
	for _, w := range want {
		found := false
		for _, l := range lines {
			rest, ok := strings.CutPrefix(strings.TrimSpace(l), w.step)
			if !ok {
				continue
			}
			found = true
			// After the step: how long it took, two spaces, the result.
			_, result, _ := strings.Cut(strings.TrimSpace(rest), "  ")
			if !strings.HasPrefix(result, w.result) {
				t.Errorf("%q reported %q; want %q", w.step, result, w.result)
			}
		}
		if !found {
			t.Errorf("step %q missing from the tour:\n%s", w.step, b.String())
		}
	}
	if strings.Contains(walk, "_") {
		t.Errorf("the walk prints a constant's name:\n%s", walk)
	}
	// The metrics table ends the tour: every socket closed by Stop, the
	// service's connections counted with their bytes, and no row of zeros.
	rows := 0
	for _, l := range strings.Split(metrics, "\n")[2:] {
		f := strings.Fields(l)
		if len(f) != 7 {
			continue
		}
		rows++
		if f[0] == "tcp.conn" && (f[2] != "0" || f[3] == "0") {
			t.Errorf("metrics line %q: want 0 open and bytes counted", l)
		}
		if f[2] == "0" && f[3] == "0" && f[4] == "0" && f[5] == "0" && f[6] == "0" {
			t.Errorf("metrics line %q: all zeros", l)
		}
	}
	if rows == 0 {
		t.Errorf("no metrics rows:\n%s", metrics)
	}
}

// TestMetricsNoTraffic: a system that moved nothing says so rather than
// print a table of zeros.
func TestMetricsNoTraffic(t *testing.T) {
	sys, err := actors.Start()
	if err != nil {
		t.Fatal(err)
	}
	a, peer, err := socket.Pair(socket.Stream)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if _, err := actors.SpawnSocket(sys, a); err != nil {
		t.Fatal(err)
	}
	if err := sys.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	printMetrics(&b, sys)
	if want := "metrics (System.Metrics; exported with WithMeterProvider):\n  no traffic\n"; b.String() != want {
		t.Fatalf("got %q; want %q", b.String(), want)
	}
}
