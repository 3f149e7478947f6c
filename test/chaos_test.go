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
	killed    []atomic.Bool   // per connection: chaos killed its handler or actor
	mu        sync.Mutex
	actors    map[uint32][2]*actor.PID // connection → (handler, connection actor)
	all       chan struct{}            // closed once every connection is registered
	conns     int
}

// chaosWriter is the push-mode handler: once the client names its index,
// it writes frames (index, seq) with seq as the ack, keeping a window in
// flight, up to total frames.
type chaosWriter struct {
	ledger   *chaosLedger
	total    uint64
	id       uint32
	named    bool
	next     uint64
	inFlight int
}

const chaosWindow = 8

func (w *chaosWriter) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.Received:
		if w.named || len(m.GetData()) < 4 {
			return
		}
		w.named = true
		w.id = binary.BigEndian.Uint32(m.GetData())
		w.ledger.mu.Lock()
		w.ledger.actors[w.id] = [2]*actor.PID{ctx.Self(), ctx.Parent()}
		if len(w.ledger.actors) == w.ledger.conns {
			close(w.ledger.all)
		}
		w.ledger.mu.Unlock()
		w.fill(ctx)
	case *messages.Written:
		w.ledger.acked[w.id].Store(m.GetAck())
		if w.ledger.ackedAll.Add(1) == w.ledger.threshold {
			w.ledger.once.Do(func() { close(w.ledger.started) })
		}
		w.inFlight--
		w.fill(ctx)
	case string:
		if m == "boom" {
			panic("chaos: handler killed")
		}
	}
}

func (w *chaosWriter) fill(ctx actor.Context) {
	for w.inFlight < chaosWindow && w.next < w.total {
		w.next++
		frame := make([]byte, 12)
		binary.BigEndian.PutUint32(frame, w.id)
		binary.BigEndian.PutUint64(frame[4:], w.next)
		ctx.Send(ctx.Parent(), &messages.Write{Data: frame, Ack: w.next})
		w.inFlight++
	}
}

// TestChaos: 200 connections stream framed, numbered messages from
// push-mode handlers to plain clients while chaos kills random handlers
// (panic), connection actors (an injected fault, or poison) and the
// listener (the service replaces it). On every connection not killed,
// every acknowledged message arrives exactly once and in order; on the
// killed ones, what arrived is still an in-order prefix. Leaks are checked
// by the package's TestMain. CI runs ten rounds (bounded by a minute);
// -soak D runs rounds for D.
func TestChaos(t *testing.T) {
	rounds, deadline := 10, time.Now().Add(time.Minute)
	if *soak > 0 {
		rounds, deadline = 1<<30, time.Now().Add(*soak)
	}
	var acked, delivered, lost, killed uint64
	for r := 0; r < rounds && time.Now().Before(deadline); r++ {
		a, d, l, k := chaosRound(t, 200, 200, uint64(r))
		acked, delivered, lost, killed = acked+a, delivered+d, lost+l, killed+k
		if t.Failed() {
			break
		}
	}
	t.Logf("chaos: %d messages acknowledged, %d delivered, %d lost; %d connections killed", acked, delivered, lost, killed)
	if lost != 0 {
		t.Fatalf("%d acknowledged messages lost", lost)
	}
}

func chaosRound(t *testing.T, conns int, frames uint64, seed uint64) (acked, delivered, lost, killedN uint64) {
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
		actors: map[uint32][2]*actor.PID{}, threshold: uint64(conns) * frames / 5, started: make(chan struct{}),
		all: make(chan struct{}), conns: conns,
	}
	props := actor.PropsFromProducer(func() actor.Actor { return &chaosWriter{ledger: ledger, total: frames} })
	framing, _ := tcp.LengthPrefixed(4, 1024)
	svc, err := tcp.StartService(ctx, sys, "127.0.0.1:0", props, tcp.WithFraming(framing),
		tcp.WithHandlerSupervisor(actors.StoppingStrategy()))
	if err != nil {
		t.Fatal(err)
	}
	addr, err := svc.Addr(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Readers: plain Go clients that name themselves, then check each frame.
	var readers sync.WaitGroup
	clients := make([]net.Conn, conns)
	for i := range conns {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
		var hello [8]byte
		binary.BigEndian.PutUint32(hello[:], 4)
		binary.BigEndian.PutUint32(hello[4:], uint32(i))
		if _, err := c.Write(hello[:]); err != nil {
			t.Fatal(err)
		}
		readers.Add(1)
		go func() {
			defer readers.Done()
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
				ledger.received[i].Add(1)
			}
		}()
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
		readers.Wait()
	}()

	// Chaos, once every connection is streaming (none is left in the
	// listener's backlog, which dies with it) and a fifth of the messages
	// are acknowledged.
	for _, c := range []chan struct{}{ledger.all, ledger.started} {
		select {
		case <-c:
		case <-ctx.Done():
			t.Fatalf("streaming stalled at %d acknowledged, %d connections", ledger.ackedAll.Load(), len(ledger.actors))
		}
	}
	rng := rand.New(rand.NewPCG(seed, 42))
	ledger.mu.Lock()
	for _, i := range rng.Perm(conns)[:conns/10] {
		pids, ok := ledger.actors[uint32(i)]
		if !ok {
			continue
		}
		ledger.killed[i].Store(true)
		killedN++
		switch i % 3 {
		case 0:
			sys.Root().Send(pids[0], "boom") // the handler panics
		case 1:
			sys.Root().Send(pids[1], &messages.InjectFault{}) // the connection actor panics
		case 2:
			sys.Root().Poison(pids[1]) // the connection actor is poisoned
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
			continue
		}
		// The last Written may still be on its way to the handler when the
		// reader is done, so acknowledged ≤ delivered; lost counts the
		// other way round.
		acked += a
		delivered += r
		if r < a {
			lost += a - r
		}
		if r != frames {
			_, reg := ledger.actors[uint32(i)]
			t.Errorf("connection %d (not killed): %d of %d frames delivered (acked %d, registered %v)", i, r, frames, a, reg)
		}
	}
	if _, err := svc.Stop(ctx, time.Second); err != nil {
		t.Error(err)
	}
	return acked, delivered, lost, killedN
}
