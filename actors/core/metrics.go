package core

import (
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// Counters are a socket actor's counters. Only the actor that owns them
// adds to them; any goroutine may read them. Protocol actors use the
// fields that apply: listeners count accepts, UDP peers count drops.
type Counters struct {
	BytesIn, BytesOut atomic.Uint64
	// Reads and Writes count the syscalls that moved bytes.
	Reads, Writes atomic.Uint64
	// Errors counts failed data syscalls (EAGAIN and end of stream are not
	// failures).
	Errors atomic.Uint64
	// Accepted, Rejected (closed at once: max connections were live) and
	// AcceptErrors (EMFILE, ENFILE and the like) are a listener's.
	Accepted, Rejected, AcceptErrors atomic.Uint64
	// Drops is the datagrams the kernel dropped for a full receive buffer
	// (SO_RXQ_OVFL), as of the last one read.
	Drops atomic.Uint64
	// Stalls counts the times the actor held its poller's goroutine past
	// the stall budget (a push-mode handler that blocks) and was moved to
	// the worker pool.
	Stalls atomic.Uint64
	// Handshakes and HandshakeErrors count a TLS connection's handshake
	// that completed and one that failed (bad input, a wrong certificate,
	// its deadline).
	Handshakes, HandshakeErrors atomic.Uint64
}

// OtherServices is the service of the group Metrics sums closed sockets
// into once it keeps maxRetiredGroups groups of closed sockets: the groups
// (and the OpenTelemetry attribute sets made of them) stay bounded however
// many distinct addresses come and go.
const OtherServices = "(other)"

// maxRetiredGroups bounds the groups of closed sockets Metrics keeps.
var maxRetiredGroups = 1024

// MetricKey groups sockets in Metrics: by kind ("tcp.client", "tcp.conn",
// "tcp.listener", "udp.peer", "socket") and by service, the local address
// of the listener a socket belongs to ("" for sockets of no service).
type MetricKey struct{ Kind, Service string }

// Totals are the summed counters of a group of sockets: Open is how many
// are live; the rest include sockets already closed.
type Totals struct {
	Open                             int64
	BytesIn, BytesOut                uint64
	Reads, Writes, Errors            uint64
	Accepted, Rejected, AcceptErrors uint64
	Drops                            uint64
	Stalls                           uint64
	Handshakes, HandshakeErrors      uint64
}

func (t *Totals) add(c *Counters) {
	t.BytesIn += c.BytesIn.Load()
	t.BytesOut += c.BytesOut.Load()
	t.Reads += c.Reads.Load()
	t.Writes += c.Writes.Load()
	t.Errors += c.Errors.Load()
	t.Accepted += c.Accepted.Load()
	t.Rejected += c.Rejected.Load()
	t.AcceptErrors += c.AcceptErrors.Load()
	t.Drops += c.Drops.Load()
	t.Stalls += c.Stalls.Load()
	t.Handshakes += c.Handshakes.Load()
	t.HandshakeErrors += c.HandshakeErrors.Load()
}

// tracked is a live socket actor as the system sees it.
type tracked struct {
	key    MetricKey
	core   *Core
	closed bool // ended by a Close request: stopping, no longer counted by Sockets
}

// Metrics returns the system's counters by kind and service. Counters only
// grow: a closed socket's last values stay in its group's totals.
func (rt *Runtime) Metrics() map[MetricKey]Totals {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := make(map[MetricKey]Totals, len(rt.retired)+4)
	for k, t := range rt.retired {
		t.Open = 0
		out[k] = t
	}
	for _, e := range rt.sockets {
		t := out[e.key]
		t.Open++
		t.add(&e.core.counts)
		out[e.key] = t
	}
	return out
}

// relabel moves a live socket to another service group, carrying its
// counts so far with it.
func (rt *Runtime) relabel(pid *actor.PID, service string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if e, ok := rt.sockets[pid]; ok {
		e.key.Service = service
		rt.sockets[pid] = e
	}
}

// SetKind names the kind of socket the core belongs to, for Metrics; call
// it when building the actor (SocketProps' newActor).
func (c *Core) SetKind(kind string) { c.key.Kind = kind }

// SetService puts the socket in a service group for Metrics: the local
// address of the listener it belongs to. Call it from the actor (or while
// building it).
func (c *Core) SetService(service string) {
	c.key.Service = service
	if c.self != nil {
		c.rt.relabel(c.self, service)
	}
}

// Counters returns the actor's counters, for protocol actors to add to.
func (c *Core) Counters() *Counters { return &c.counts }
