package main

import (
	"strings"
	"testing"

	"github.com/actornet/actornet/test/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// TestTour runs the tour and checks each step reported what it should.
func TestTour(t *testing.T) {
	var b strings.Builder
	if err := run(&b); err != nil {
		t.Fatalf("tour: %v\n%s", err, b.String())
	}
	want := []struct{ step, result string }{
		{"poll(write): send space is free", "event"},
		{"poll(read, 50ms): nothing sent yet", "timeout"},
		{"poll(read) while the peer writes", "event"},
		{"poll(read) after the peer hung up", "closed"},
		{"close with a poll pending: the poll is", "cancelled"},
		{"close again", "ErrClosed"},
		{"tcp: dial it", "connected"},
		{"tcp: send 12 bytes, read the echo", "echoed"},
		{"udp: send a datagram, read the echo", "echoed"},
		{"udp: read 8 of 33 bytes", "truncated"},
		{"udp: receive on a send-only peer", "not_bound"},
		{"service: inject a crash into its listener", "restarted"},
		{"service: the connection open at the crash", "echoes"},
		{"service: a new connection, same address", "echoes"},
		{"service: drain and stop", "2_closed"},
	}
	lines := strings.Split(b.String(), "\n")
	// The metrics table ends the tour: every socket closed by Stop, and the
	// service's connections counted with their bytes.
	if !strings.Contains(b.String(), "metrics (System.Metrics") {
		t.Errorf("no metrics at the end of the tour:\n%s", b.String())
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 7 && f[0] == "tcp.conn" && (f[2] != "0" || f[3] == "0") {
			t.Errorf("metrics line %q: want 0 open and bytes counted", l)
		}
	}
	for _, w := range want {
		found := false
		for _, l := range lines {
			if strings.Contains(l, w.step) {
				found = true
				if f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), w.step)); len(f) == 0 || f[0] != w.result {
					t.Errorf("%q reported %q; want %s", w.step, l, w.result)
				}
			}
		}
		if !found {
			t.Errorf("step %q missing from the tour:\n%s", w.step, b.String())
		}
	}
}
