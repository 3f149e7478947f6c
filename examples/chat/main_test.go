package main

import (
	"io"
	"strings"
	"testing"

	"github.com/actornet/actornet/test/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestChatDefaultRun(t *testing.T) {
	var out strings.Builder
	if err := run(config{clients: 4, lines: 10}, &out); err != nil {
		t.Fatalf("chat: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "lines sent 40, lines delivered 120") {
		t.Fatalf("summary:\n%s", out.String())
	}
}

func TestChatBadFlags(t *testing.T) {
	if err := run(config{clients: 1, lines: 1}, io.Discard); err == nil {
		t.Fatal("one client accepted")
	}
}
