package core

import (
	"testing"

	"github.com/actornet/actornet/socket"
)

// TestRetiredGroupsBounded: sockets of ever new services come and go (as
// short-lived UDP peers do); the groups Metrics keeps stay bounded, and
// what is past the bound is summed under OtherServices, not lost.
func TestRetiredGroupsBounded(t *testing.T) {
	defer func(n int) { maxRetiredGroups = n }(maxRetiredGroups)
	maxRetiredGroups = 8
	sys := newSystem(t)
	const sockets = 50
	for i := range sockets {
		a, b, err := socket.Pair(socket.Stream)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := sys.SpawnSocketActor(PlainProps(sys, a))
		if err != nil {
			t.Fatal(err)
		}
		sys.relabel(pid, "service-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		if err := sys.Root().StopFuture(pid).Wait(); err != nil {
			t.Fatal(err)
		}
		b.Close()
	}
	m := sys.Metrics()
	if len(m) > maxRetiredGroups+1 {
		t.Fatalf("Metrics keeps %d groups; want at most %d and the other services", len(m), maxRetiredGroups+1)
	}
	if _, ok := m[MetricKey{Kind: "socket", Service: OtherServices}]; !ok {
		t.Fatalf("no %q group: %v", OtherServices, m)
	}
}
