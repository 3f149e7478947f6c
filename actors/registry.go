package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	cmap "github.com/orcaman/concurrent-map"
)

// registryBuckets is how many buckets a system's process registry has.
// Each is a concurrent map of 32 locked shards, so 16 buckets are 512
// locks: a spawn or a stop takes one, and 512 keep them apart on any
// machine these servers run on.
const registryBuckets = 16

// compactRegistry gives a new actor system a process registry of
// registryBuckets buckets in place of the 1,024 Proto.Actor makes.
// Theirs are 32,768 shards, each a lock and a map: 2.5 MB of small
// objects with pointers that the garbage collector marks in every cycle,
// whether or not one actor lives. A server that allocates per
// connection (a TLS handshake allocates about 50 KB) runs a cycle every
// few dozen connections, and those marks were most of each cycle's work:
// serial TLS handshakes, 1.6 ms of CPU a cycle before, 0.6 after
// (GODEBUG=gctrace=1). What Proto.Actor registered while it made the
// system (startEntries) moves over; looking for other entries would take
// all 32,768 locks (18 ms a start under the race detector), so
// TestCompactRegistry checks the list against a fresh system instead. It
// runs before the system is shared, so nothing reads the registry while
// it changes.
func compactRegistry(as *actor.ActorSystem) {
	old := as.ProcessRegistry.LocalPIDs
	fresh := &actor.SliceMap{LocalPIDs: make([]cmap.ConcurrentMap, registryBuckets)}
	for i := range fresh.LocalPIDs {
		fresh.LocalPIDs[i] = cmap.New()
	}
	for _, id := range startEntries {
		if process, ok := old.GetBucket(id).Get(id); ok {
			fresh.GetBucket(id).Set(id, process)
		}
	}
	as.ProcessRegistry.LocalPIDs = fresh
}

// startEntries are the processes NewActorSystem registers (at the pinned
// Proto.Actor: its dead letter and event stream processes).
var startEntries = [...]string{"deadletter", "eventstream"}
