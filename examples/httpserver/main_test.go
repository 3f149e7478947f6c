package main

import (
	"strings"
	"testing"

	"github.com/actornet/actornet/test/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestHTTPServerDefaultRun(t *testing.T) {
	var out strings.Builder
	if err := run(options{}, &out); err != nil {
		t.Fatalf("httpserver: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{"GET /         200 HTTP/1.1", "GET /hello    200 HTTP/1.1 \"hello from a socket actor", "GET /missing  404"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in:\n%s", want, s)
		}
	}
}

// Over HTTPS (a self-signed certificate, trusted by the client), HTTP/2
// by ALPN.
func TestHTTPServerTLS(t *testing.T) {
	var out strings.Builder
	if err := run(options{tls: true}, &out); err != nil {
		t.Fatalf("httpserver -tls: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{"https://", "GET /         200 HTTP/2.0", "GET /hello    200 HTTP/2.0 \"hello from a socket actor", "GET /missing  404"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in:\n%s", want, s)
		}
	}
	if err := run(options{cert: "x.pem"}, &out); err == nil {
		t.Error("-cert without -tls and -key was accepted")
	}
}
