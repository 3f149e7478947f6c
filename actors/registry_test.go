package actors

import (
	"slices"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
)

// registered counts the entries of sys's process registry.
func registered(sys *System) int {
	n := 0
	for _, bucket := range sys.Actors.ProcessRegistry.LocalPIDs.LocalPIDs {
		n += bucket.Count()
	}
	return n
}

func TestCompactRegistry(t *testing.T) {
	sys := newSystem(t)
	reg := sys.Actors.ProcessRegistry
	if got := len(reg.LocalPIDs.LocalPIDs); got != registryBuckets {
		t.Fatalf("registry buckets = %d, want %d", got, registryBuckets)
	}
	// What Proto.Actor registers as it makes a system is what moves over.
	bare := actor.NewActorSystem()
	defer bare.Shutdown()
	var made []string
	for _, bucket := range bare.ProcessRegistry.LocalPIDs.LocalPIDs {
		bucket.IterCb(func(id string, _ interface{}) { made = append(made, id) })
	}
	slices.Sort(made)
	if want := slices.Sorted(slices.Values(startEntries[:])); !slices.Equal(made, want) {
		t.Fatalf("NewActorSystem registers %q; compactRegistry moves %q", made, want)
	}
	for _, id := range startEntries {
		if _, ok := reg.GetLocal(id); !ok {
			t.Fatalf("%q missing from the compacted registry", id)
		}
	}
	before := registered(sys)
	const n = 2000
	pids := make([]*actor.PID, n)
	for i := range pids {
		pids[i] = sys.Actors.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	}
	for _, pid := range pids {
		if p, ok := reg.Get(pid); !ok || p == sys.Actors.DeadLetter {
			t.Fatalf("spawned %v not in the registry", pid)
		}
	}
	if got := registered(sys); got != before+n {
		t.Fatalf("registry holds %d entries after %d spawns, want %d", got, n, before+n)
	}
	for _, pid := range pids {
		if err := sys.Actors.Root.StopFuture(pid).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if got := registered(sys); got != before {
		t.Fatalf("registry holds %d entries after the stops, want %d", got, before)
	}
}
