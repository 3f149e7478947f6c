package test

import (
	"bufio"
	"context"
	"encoding/binary"
	"flag"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/tcp"
)

var soak = flag.Duration("soak", 0, "run the chaos test this long (e.g. 10m) instead of the bounded CI run")

// chaosLedger is what the writers and readers of the chaos test record.
type chaosLedger struct {
	ackedAll  atomic.Uint64 // acknowledgments so far, all connections
	threshold uint64        // when ackedAll reaches it, chaos starts
	started   chan struct{} // closed at the threshold
	once      sync.Once
	acked     []atomic.Uint64 // per connection: highest acknowledged seq (acks are in order)
	received  []atomic.Uint64 // per connection: frames delivered in order
	broken    []atomic.Bool   // per connection: a duplicate, gap or reorder was seen
	killed    []atomic.Bool   // per connection: chaos killed its handler or connection
	mu        sync.Mutex
	conn      map[uint32]*actor.PID // connection index → its actor (the handler runs in it)
	all       chan struct{}         // closed once every connection is registered
	conns     int
}

// The chaos protocol, in frames of tcp.LengthPrefixed(4, ...): the client
// names itself (its index, 4 bytes), then grants frames (a count, 4 bytes)
// as it reads them, at most chaosAhead ahead; the server writes frames of
// (index, seq), 12 bytes, with seq as the ack, at most chaosWindow not yet
// acknowledged. The grants pace every stream by its reader, so the
// streams are still running when chaos strikes.
const (
	chaosWindow = 8
	chaosAhead  = 16
)

// chaosWriter is the push-mode handler, one per connection: once the
// client names its index, it writes the frames the client grants, up to
// total. The message "boom" sent to its connection's PID makes it panic.
type chaosWriter struct {
	ledger   *chaosLedger
	total    uint64
	id       uint32
	named    bool
	granted  uint64
	next     uint64
	inFlight int
}

func (w *chaosWriter) Receive(c *tcp.Conn, msg any) {
	switch m := msg.(type) {
	case *messages.Received:
		if len(m.GetData()) != 4 {
			return
		}
		n := binary.BigEndian.Uint32(m.GetData())
		if w.named {
			w.granted += uint64(n)
			w.fill(c)
			return
		}
		w.named, w.id = true, n
		w.ledger.mu.Lock()
		w.ledger.conn[w.id] = c.PID()
		if len(w.ledger.conn) == w.ledger.conns {
			close(w.ledger.all)
		}
		w.ledger.mu.Unlock()
	case *messages.Written:
		w.ledger.acked[w.id].Store(m.GetAck())
		if w.ledger.ackedAll.Add(1) == w.ledger.threshold {
			w.ledger.once.Do(func() { close(w.ledger.started) })
		}
		w.inFlight--
		w.fill(c)
	case string:
		if m == "boom" {
			panic("chaos: handler killed")
		}
	}
}

func (w *chaosWriter) fill(c *tcp.Conn) {
	for w.inFlight < chaosWindow && w.next < min(w.granted, w.total) {
		frame := make([]byte, 12)
		binary.BigEndian.PutUint32(frame, w.id)
		binary.BigEndian.PutUint64(frame[4:], w.next+1)
		if err := c.WriteAck(frame, w.next+1); err != nil {
			return // the connection is closing: chaos got it
		}
		w.next++
		w.inFlight++
	}
}

// chaosFrame returns a client frame carrying v.
func chaosFrame(v uint32) []byte {
	var f [8]byte
	binary.BigEndian.PutUint32(f[:], 4)
	binary.BigEndian.PutUint32(f[4:], v)
	return f[:]
}

// chaosKinds name the ways chaos kills a connection (index % 3).
var chaosKinds = [3]string{"handler panic", "injected fault", "poison"}

// chaosStats is what a round counts.
type chaosStats struct {
	acked, delivered, lost, killed uint64
	cut                            [3]uint64 // killed connections that ended short, by kind
}

// TestChaos: 200 connections stream framed, numbered messages from
// push-mode handlers to plain clients while chaos kills random handlers
// (a panic, which the stopping handler strategy answers by closing the
// connection), connection actors (an injected fault, or poison: the
// handler runs in the connection's actor, so both go) and the listener
// (the service replaces it). On every connection not killed, every
// acknowledged message arrives exactly once and in order; on the killed
// ones, what arrived is still an in-order prefix, and each kind of kill
// cuts some stream short (chaos struck while they ran). Leaks are checked
// by the package's TestMain. It runs four rounds (each kind cuts some
// 25 streams short in four), -long ten (both bounded by a minute), and
// -soak D rounds for D.
func TestChaos(t *testing.T) {
	rounds, deadline := 4, time.Now().Add(time.Minute)
	if *long {
		rounds = 10
	}
	if *soak > 0 {
		rounds, deadline = 1<<30, time.Now().Add(*soak)
	}
	var total chaosStats
	for r := 0; r < rounds && time.Now().Before(deadline); r++ {
		s := chaosRound(t, 200, 200, uint64(r))
		total.acked, total.delivered, total.lost, total.killed = total.acked+s.acked, total.delivered+s.delivered, total.lost+s.lost, total.killed+s.killed
		for k := range s.cut {
			total.cut[k] += s.cut[k]
		}
		if t.Failed() {
			return
		}
	}
	t.Logf("chaos: %d messages acknowledged, %d delivered, %d lost; %d connections killed, cut short by kind %v: %v",
		total.acked, total.delivered, total.lost, total.killed, chaosKinds, total.cut)
	if total.lost != 0 {
		t.Fatalf("%d acknowledged messages lost", total.lost)
	}
	for k, n := range total.cut {
		if n == 0 {
			t.Errorf("no %s cut a stream short: chaos struck only finished streams", chaosKinds[k])
		}
	}
}

func chaosRound(t *testing.T, conns int, frames uint64, seed uint64) (st chaosStats) {
	sys, err := actors.Start(actors.WithFaultInjection())
	if err != nil {
		t.Fatal(err)
	}
	defer sys.StopNow()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ledger := &chaosLedger{
		acked: make([]atomic.Uint64, conns), received: make([]atomic.Uint64, conns),
		broken: make([]atomic.Bool, conns), killed: make([]atomic.Bool, conns),
		conn: map[uint32]*actor.PID{}, threshold: uint64(conns) * frames / 5, started: make(chan struct{}),
		all: make(chan struct{}), conns: conns,
	}
	writer := tcp.PerConnection(func() tcp.Handler { return &chaosWriter{ledger: ledger, total: frames} })
	framing, _ := tcp.LengthPrefixed(4, 1024)
	svc, err := tcp.StartService(ctx, sys, "127.0.0.1:0", writer, tcp.WithFraming(framing),
		tcp.WithHandlerSupervisor(actors.StoppingStrategy()))
	if err != nil {
		t.Fatal(err)
	}
	addr := svc.Addr()

	// Readers: plain Go clients that name themselves and, once every
	// connection is registered (none is left in the listener's backlog,
	// which dies with it), grant frames as they check them.
	var readers sync.WaitGroup
	clients := make([]net.Conn, conns)
	for i := range conns {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
		if _, err := c.Write(chaosFrame(uint32(i))); err != nil {
			t.Fatal(err)
		}
		readers.Add(1)
		go func() {
			defer readers.Done()
			select {
			case <-ledger.all:
			case <-ctx.Done():
				return
			}
			_, _ = c.Write(chaosFrame(chaosAhead)) // a killed connection fails the reads below
			r := bufio.NewReader(c)
			var hdr [4]byte
			for ledger.received[i].Load() < frames {
				if _, err := io.ReadFull(r, hdr[:]); err != nil {
					return
				}
				body := make([]byte, binary.BigEndian.Uint32(hdr[:]))
				if _, err := io.ReadFull(r, body); err != nil || len(body) != 12 {
					return
				}
				id, seq := binary.BigEndian.Uint32(body), binary.BigEndian.Uint64(body[4:])
				if id != uint32(i) || seq != ledger.received[i].Load()+1 {
					ledger.broken[i].Store(true)
					return
				}
				if ledger.received[i].Add(1)%(chaosAhead/2) == 0 {
					_, _ = c.Write(chaosFrame(chaosAhead / 2))
				}
			}
		}()
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
		readers.Wait()
	}()

	// Chaos, once every connection is streaming and a fifth of the
	// messages are acknowledged.
	for _, c := range []chan struct{}{ledger.all, ledger.started} {
		select {
		case <-c:
		case <-ctx.Done():
			ledger.mu.Lock()
			n := len(ledger.conn)
			ledger.mu.Unlock()
			t.Fatalf("streaming stalled at %d acknowledged, %d connections", ledger.ackedAll.Load(), n)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 42))
	ledger.mu.Lock()
	for _, i := range rng.Perm(conns)[:conns/10] {
		pid, ok := ledger.conn[uint32(i)]
		if !ok {
			continue
		}
		ledger.killed[i].Store(true)
		st.killed++
		switch i % 3 {
		case 0:
			sys.Root().Send(pid, "boom") // the handler panics: its strategy stops it, the connection closes
		case 1:
			sys.Root().Send(pid, &messages.InjectFault{}) // the connection actor panics: a socket actor stops
		case 2:
			sys.Root().Poison(pid) // the connection actor is poisoned
		}
	}
	ledger.mu.Unlock()
	info, err := svc.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sys.Root().Send(info.GetListener().PID(), &messages.InjectFault{}) // the listener crashes

	// Every reader ends: a survivor once it has read all its frames, a
	// killed connection's at end of stream or reset.
	done := make(chan struct{})
	go func() { readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		for _, c := range clients {
			c.Close()
		}
		<-done
		t.Fatal("readers still reading after a minute")
	}
	for i := range conns {
		a, r := ledger.acked[i].Load(), ledger.received[i].Load()
		if ledger.broken[i].Load() {
			t.Errorf("connection %d (killed %v): a duplicate, gap or reorder after %d frames", i, ledger.killed[i].Load(), r)
		}
		if ledger.killed[i].Load() {
			if r < frames {
				st.cut[i%3]++
			}
			continue
		}
		// The last Written may still be on its way to the handler when the
		// reader is done, so acknowledged ≤ delivered; lost counts the
		// other way round.
		st.acked += a
		st.delivered += r
		if r < a {
			st.lost += a - r
		}
		if r != frames {
			t.Errorf("connection %d (not killed): %d of %d frames delivered (acked %d)", i, r, frames, a)
		}
	}
	if err := svc.Stop(ctx); err != nil {
		t.Error(err)
	}
	return st
}
