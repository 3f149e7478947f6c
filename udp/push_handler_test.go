package udp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/test/testkit"
)

// payload is datagram seq of the lent-data test: seq, then seq's low byte
// over and over.
func payload(seq uint32) []byte {
	p := bytes.Repeat([]byte{byte(seq)}, 100)
	binary.BigEndian.PutUint32(p, seq)
	return p
}

func checkPayload(p []byte, seq uint32) error {
	if !bytes.Equal(p, payload(seq)) {
		return fmt.Errorf("datagram %d reads % x...", seq, p[:min(len(p), 8)])
	}
	return nil
}

// keeper copies each Datagram's Data, and retains each buffer until the
// next datagram, when it checks the retained bytes are still its own.
type keeper struct {
	copies [][]byte
	loan   Loan
	seq    uint32
	errs   chan error
	done   chan [][]byte
}

func (k *keeper) Receive(c *Conn, msg any) {
	d, ok := msg.(*messages.Datagram)
	if !ok {
		return
	}
	if string(d.GetData()) == "done" {
		k.done <- k.copies
		return
	}
	if b := k.loan.Bytes(); b != nil {
		if err := checkPayload(b, k.seq); err != nil {
			k.errs <- fmt.Errorf("retained: %w", err)
		}
		k.loan.Release()
		if k.loan.Bytes() != nil {
			k.errs <- errors.New("a released Loan still has its bytes")
		}
	}
	k.copies = append(k.copies, append([]byte(nil), d.GetData()...))
	k.seq = binary.BigEndian.Uint32(d.GetData())
	k.loan = c.Retain()
	c.SendTo(c.From(), d.GetData()[:4]) // the acknowledgment
}

// TestServePushLentData: while thousands of datagrams flow through the
// peer's reused buffers, a handler's copies keep the right bytes, and so
// does a buffer it retains across calls until it releases it.
func TestServePushLentData(t *testing.T) {
	sys := newSystem(t)
	k := &keeper{errs: make(chan error, 16), done: make(chan [][]byte, 1)}
	srv := serve(t, sys, "127.0.0.1:0", k)
	c := bind(t, sys, "127.0.0.1:0")
	ctx := testCtx(t)
	const total, burst = 3200, 32 // total a multiple of burst
	for seq := uint32(0); seq < total; seq += burst {
		for i := seq; i < seq+burst; i++ {
			if _, err := c.SendTo(ctx, srv.LocalAddr(), payload(i)); err != nil {
				t.Fatal(err)
			}
		}
		for range burst {
			if _, _, err := c.RecvFrom(ctx, 16); err != nil {
				t.Fatalf("acknowledgment: %v", err)
			}
		}
	}
	c.SendTo(ctx, srv.LocalAddr(), []byte("done"))
	var copies [][]byte
	select {
	case copies = <-k.done:
	case err := <-k.errs:
		t.Fatal(err)
	case <-time.After(testTimeout):
		t.Fatal("the handler never got done")
	}
	select {
	case err := <-k.errs:
		t.Fatal(err)
	default:
	}
	if len(copies) != total {
		t.Fatalf("%d copies, want %d", len(copies), total)
	}
	for i, p := range copies {
		if err := checkPayload(p, uint32(i)); err != nil {
			t.Fatalf("copy: %v", err)
		}
	}
}

// hoarder retains every datagram's buffer (and says so on got), answers a
// probe with how many it holds, and releases them all on a release
// message.
type hoarder struct {
	loans []Loan
	got   chan struct{}
}

type release struct{}

func (h *hoarder) Receive(c *Conn, msg any) {
	switch msg.(type) {
	case *messages.Datagram:
		h.loans = append(h.loans, c.Retain())
		h.got <- struct{}{}
	case probe:
		c.Respond(len(h.loans))
	case release:
		for _, l := range h.loans {
			l.Release()
		}
		h.loans = nil
	}
}

// TestServePushRetainBound: a handler that retains WithReadCredit buffers
// stops the peer's reading until it releases them.
func TestServePushRetainBound(t *testing.T) {
	sys := newSystem(t)
	got := make(chan struct{}, 8)
	srv := serve(t, sys, "127.0.0.1:0", &hoarder{got: got}, WithReadCredit(2))
	c := bind(t, sys, "127.0.0.1:0")
	ctx := testCtx(t)
	for range 5 {
		c.SendTo(ctx, srv.LocalAddr(), []byte("x"))
	}
	// Reading stops at two retained buffers, so the count, once two have
	// come, stays two.
	held := func(want int) {
		t.Helper()
		for range want {
			select {
			case <-got:
			case <-time.After(testTimeout):
				t.Fatal("a datagram never reached the handler")
			}
		}
		if n := askSeen(t, sys, srv.PID()); n != want {
			t.Fatalf("the handler holds %d buffers, want %d", n, want)
		}
	}
	held(2)
	sys.Root().Send(srv.PID(), release{})
	held(2)
	sys.Root().Send(srv.PID(), release{})
	held(1)
}

// counter answers each datagram with how many it has counted, and panics
// on "panic".
type counter struct{ n int }

func (h *counter) Receive(c *Conn, msg any) {
	d, ok := msg.(*messages.Datagram)
	if !ok {
		return
	}
	if string(d.GetData()) == "panic" {
		panic("handler failure (on purpose)")
	}
	h.n++
	c.SendTo(c.From(), fmt.Appendf(nil, "%d", h.n))
}

// TestServePushRestartGivesFreshState: a handler panic under the default
// strategy replaces the handler (its count starts again) on the same
// socket and PID; under a stopping strategy the peer closes.
func TestServePushRestartGivesFreshState(t *testing.T) {
	for _, restart := range []bool{true, false} {
		t.Run(map[bool]string{true: "restart", false: "stop"}[restart], func(t *testing.T) {
			sys := newSystem(t)
			var opts []ServeOption
			if !restart {
				opts = append(opts, WithHandlerSupervisor(actors.StoppingStrategy()))
			}
			srv := serve(t, sys, "127.0.0.1:0", PerSocket(func() Handler { return &counter{} }), opts...)
			c := bind(t, sys, "127.0.0.1:0")
			ctx := testCtx(t)
			count := func(want string) {
				t.Helper()
				c.SendTo(ctx, srv.LocalAddr(), []byte("x"))
				d, err := recvFrom(ctx, c, 16)
				if err != nil || string(d.Data) != want || d.From != srv.LocalAddr() {
					t.Fatalf("count = %q from %v, %v; want %q from %v", d.Data, d.From, err, want, srv.LocalAddr())
				}
			}
			count("1")
			count("2")
			c.SendTo(ctx, srv.LocalAddr(), []byte("panic"))
			if !restart {
				testkit.WaitStopped(t, sys, srv.PID())
				if _, err := srv.Info(ctx); !errors.Is(err, net.ErrClosed) {
					t.Fatalf("after a stopped handler the peer answered %v; want closed", err)
				}
				return
			}
			count("1")
			count("2")
		})
	}
}

// note asks the relay below to send text to to.
type note struct {
	text string
	to   netip.AddrPort
}

// relay is an actor handler: it echoes datagrams and sends the notes other
// actors send its peer's PID, answering them.
type relay struct{ started chan *actor.PID }

func (r *relay) Receive(ctx actor.Context) {
	c := ConnOf(ctx)
	switch m := ctx.Message().(type) {
	case *actor.Started:
		r.started <- ctx.Self()
	case *messages.Datagram:
		c.SendTo(c.From(), m.GetData())
	case note:
		if err := c.SendTo(m.to, []byte(m.text)); err != nil {
			ctx.Respond(err)
			return
		}
		ctx.Respond("sent")
	}
}

// TestServePushMessagesReachTheHandler: an actor handler starts with the
// peer's PID as Self, echoes, and sends what another actor asks it to by
// a message to the peer's PID, answering that actor.
func TestServePushMessagesReachTheHandler(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		started := make(chan *actor.PID, 1)
		srv := serve(t, sys, addr, ActorHandler(func() actor.Actor { return &relay{started: started} }))
		if self := <-started; !self.Equal(srv.PID()) {
			t.Fatalf("the actor handler's Self is %v, want the peer's %v", self, srv.PID())
		}
		c := bind(t, sys, addr)
		roundTrip(t, c, srv.LocalAddr(), []byte("echo"))
		res, err := sys.Root().RequestFuture(srv.PID(), note{text: "from another actor", to: c.LocalAddr()}, testTimeout).Result()
		if err != nil || res != "sent" {
			t.Fatalf("the relay answered %v, %v", res, err)
		}
		d, err := recvFrom(testCtx(t), c, 64)
		if err != nil || string(d.Data) != "from another actor" || d.From != srv.LocalAddr() {
			t.Fatalf("client got %q from %v, %v", d.Data, d.From, err)
		}
	})
}

// TestServePushBlockingHandlers: with WithBlockingHandlers, a handler
// blocked on a channel stalls nobody: another peer on the same system and
// the same (only) poller echoes meanwhile.
func TestServePushBlockingHandlers(t *testing.T) {
	sys := newSystem(t, actors.WithPollers(1))
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // before the system stops
	blocked := make(chan struct{}, 1)
	slow := serve(t, sys, "127.0.0.1:0", HandlerFunc(func(c *Conn, msg any) {
		d, ok := msg.(*messages.Datagram)
		if !ok {
			return
		}
		if string(d.GetData()) == "block" {
			blocked <- struct{}{}
			<-release // a blocking wait, as a Future.Wait would be
		}
		c.SendTo(c.From(), d.GetData())
	}), WithBlockingHandlers())
	fast := serve(t, sys, "127.0.0.1:0", echo)
	c := bind(t, sys, "127.0.0.1:0")
	ctx := testCtx(t)
	c.SendTo(ctx, slow.LocalAddr(), []byte("block"))
	select {
	case <-blocked:
	case <-time.After(testTimeout):
		t.Fatal("the slow handler never ran")
	}
	for i := range 100 {
		roundTrip(t, c, fast.LocalAddr(), fmt.Appendf(nil, "datagram %d", i))
	}
	once.Do(func() { close(release) })
	d, err := recvFrom(ctx, c, 16)
	if err != nil || string(d.Data) != "block" || d.From != slow.LocalAddr() {
		t.Fatalf("the blocked peer after release: %q from %v, %v", d.Data, d.From, err)
	}
}

// TestConnSendToBadInput: Conn.SendTo refuses bad input with an error
// naming "sendto" and wrapping the cause, and the peer serves on; a Conn
// kept past its handler's call refuses with ErrOutsideHandler.
func TestConnSendToBadInput(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		type result struct {
			name string
			err  error
			want error
		}
		results := make(chan []result, 1)
		kept := make(chan *Conn, 1)
		sys := newSystem(t)
		srv := serve(t, sys, addr, HandlerFunc(func(c *Conn, msg any) {
			if _, ok := msg.(*messages.Datagram); !ok {
				return
			}
			from := c.From()
			limit := maxPayload4
			if from.Addr().Is6() {
				limit = maxPayload6
			}
			rs := []result{
				{"no address", c.SendTo(netip.AddrPort{}, []byte("x")), socket.ErrInvalidAddress},
				{"port 0", c.SendTo(netip.AddrPortFrom(from.Addr(), 0), []byte("x")), socket.ErrInvalidAddress},
				{"over the family's largest payload", c.SendTo(from, make([]byte, limit+1)), unix.EMSGSIZE},
				{"over 64 KiB", c.SendTo(from, make([]byte, MaxDatagram+1)), unix.EMSGSIZE},
			}
			if from.Addr().Is4() {
				other := netip.AddrPortFrom(netip.IPv6Loopback(), from.Port())
				rs = append(rs, result{"an IPv6 address on an IPv4 socket", c.SendTo(other, []byte("x")), socket.ErrInvalidAddress})
			}
			results <- rs
			kept <- c
			c.SendTo(from, []byte("served on"))
		}))
		c := bind(t, sys, addr)
		c.SendTo(testCtx(t), srv.LocalAddr(), []byte("go"))
		for _, r := range <-results {
			if !errors.Is(r.err, r.want) || !strings.Contains(fmt.Sprint(r.err), "sendto") {
				t.Errorf("%s: SendTo = %v; want an error naming sendto wrapping %v", r.name, r.err, r.want)
			}
		}
		d, err := recvFrom(testCtx(t), c, 16)
		if err != nil || string(d.Data) != "served on" {
			t.Fatalf("after the refusals: %q, %v", d.Data, err)
		}
		// A request answered by the peer orders this goroutine after the
		// handler's return.
		if _, err := srv.Info(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		err = (<-kept).SendTo(c.LocalAddr(), []byte("x"))
		if !errors.Is(err, ErrOutsideHandler) || !strings.Contains(err.Error(), "sendto") {
			t.Fatalf("SendTo outside the handler = %v; want ErrOutsideHandler naming sendto", err)
		}
	})
}

// TestConnSendQueue: datagrams the kernel does not take now (EAGAIN,
// injected) are queued, lent data copied, and sent in order at the next
// writable edge; a datagram that would overflow the queue's bound is
// refused with EAGAIN.
func TestConnSendQueue(t *testing.T) {
	var jam atomic.Int32 // sendto calls to refuse with EAGAIN
	remove := socket.InjectFaults(func(op socket.Op, fd int) error {
		for op == socket.OpSendTo {
			n := jam.Load()
			if n <= 0 {
				return nil
			}
			if jam.CompareAndSwap(n, n-1) {
				return unix.EAGAIN
			}
		}
		return nil
	})
	t.Cleanup(remove)
	sys := newSystem(t)
	refused := make(chan []error, 1)
	srv := serve(t, sys, "127.0.0.1:0", HandlerFunc(func(c *Conn, msg any) {
		d, ok := msg.(*messages.Datagram)
		if !ok {
			return
		}
		if string(d.GetData()) != "jam" {
			c.SendTo(c.From(), d.GetData())
			return
		}
		// The first send and the queue's retry both meet EAGAIN: "jam"
		// (lent data) and "q2" wait in the queue, and a largest datagram
		// does not fit beside them.
		jam.Store(2)
		refused <- []error{
			c.SendTo(c.From(), d.GetData()),
			c.SendTo(c.From(), []byte("q2")),
			c.SendTo(c.From(), make([]byte, maxPayload4)),
		}
	}), WithSendQueue(MaxDatagram+sendOverhead))
	c := bind(t, sys, "127.0.0.1:0")
	ctx := testCtx(t)
	c.SendTo(ctx, srv.LocalAddr(), []byte("jam"))
	errs := <-refused
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("queued sends = %v", errs[:2])
	}
	if !errors.Is(errs[2], unix.EAGAIN) || !strings.Contains(errs[2].Error(), "sendto") {
		t.Fatalf("a send past the queue's bound = %v; want EAGAIN naming sendto", errs[2])
	}
	if n := jam.Load(); n != 0 {
		t.Fatalf("%d injected EAGAINs unused: the sends were not tried", n)
	}
	// A new datagram brings a writable edge with it: the queue drains.
	c.SendTo(ctx, srv.LocalAddr(), []byte("flush"))
	for _, want := range []string{"jam", "q2", "flush"} {
		d, err := recvFrom(ctx, c, 16)
		if err != nil || string(d.Data) != want {
			t.Fatalf("got %q, %v; want %q", d.Data, err, want)
		}
	}
}

// TestServeNilHandlers: Serve and StartService refuse a nil handler in
// every form, naming the operation.
func TestServeNilHandlers(t *testing.T) {
	sys := newSystem(t)
	for name, h := range map[string]Handler{
		"nil":               nil,
		"HandlerFunc(nil)":  HandlerFunc(nil),
		"PerSocket(nil)":    PerSocket(nil),
		"ActorHandler(nil)": ActorHandler(nil),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := testkit.Context(t)
			if _, err := Serve(ctx, sys, "127.0.0.1:0", h); !errors.Is(err, socket.ErrInvalidArgument) || !strings.Contains(err.Error(), "serve udp: invalid argument: nil handler") {
				t.Fatalf("Serve = %v; want serve udp: invalid argument: nil handler", err)
			}
			if _, err := StartService(ctx, sys, "127.0.0.1:0", h); !errors.Is(err, socket.ErrInvalidArgument) {
				t.Fatalf("StartService = %v; want invalid argument", err)
			}
		})
	}
}
