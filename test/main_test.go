package test

import (
	"flag"
	"testing"

	"github.com/actornet/actornet/test/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// long runs the long tests and the long versions of the tests that have
// one (CI runs them as steps of their own: go test -race ./test -run
// 'UDPMillion|Churn10k|SlowConsumer|TestChaos$' -args -long, and
// -run ClusterChat), keeping the README's test command short.
var long = flag.Bool("long", false, "run the long tests: 10,000 connections of churn, the slow consumer, a million UDP datagrams per family, ten rounds of chaos")

// needsLong skips a long test unless -long is given.
func needsLong(t *testing.T) {
	t.Helper()
	if !*long {
		t.Skip("a long test: go test ./test -run " + t.Name() + " -args -long (CI runs it)")
	}
}
