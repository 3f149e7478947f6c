package main

import (
	"os"
	"strings"
	"testing"

	"github.com/actornet/actornet/test/leakcheck"
)

// TestMain runs node A when the default run starts this binary as its
// second process; otherwise the tests, with the leak checks.
func TestMain(m *testing.M) {
	if addr := os.Getenv(nodeEnv); addr != "" {
		os.Exit(nodeMain(addr, os.Stdin, os.Stdout))
	}
	leakcheck.Main(m)
}

// TestGateway runs the default run: node A in a second process, users
// whose every line comes back upper-cased through both nodes.
func TestGateway(t *testing.T) {
	var b strings.Builder
	if err := run(config{users: 3, lines: 5}, &b); err != nil {
		t.Fatalf("gateway: %v\n%s", err, b.String())
	}
	if !strings.Contains(b.String(), "3 users × 5 lines: 15 replies, all upper-cased") {
		t.Fatalf("summary missing:\n%s", b.String())
	}
}

func TestGatewayBadFlags(t *testing.T) {
	if err := run(config{users: 0, lines: 5}, &strings.Builder{}); err == nil {
		t.Fatal("run with 0 users succeeded")
	}
}
