package actors

import (
	"testing"

	"github.com/actornet/actornet/test/leakcheck"
)

// TestMain checks for leaks; the cluster tests' members leave Proto.Actor's
// gossip throttle timers behind (leakcheck.ClusterIgnored).
func TestMain(m *testing.M) { leakcheck.MainIgnoring(m, leakcheck.ClusterIgnored) }
