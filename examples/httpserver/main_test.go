package main

import (
	"strings"
	"testing"

	"github.com/actornet/actornet/test/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestHTTPServerDefaultRun(t *testing.T) {
	var out strings.Builder
	if err := run("", &out); err != nil {
		t.Fatalf("httpserver: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{"GET /         200", "GET /hello    200 \"hello from a socket actor", "GET /missing  404"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in:\n%s", want, s)
		}
	}
}
