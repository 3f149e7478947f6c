package tcp

// Tests of the push-mode handler forms and of what a handler can count on:
// answers to data sent before a FIN are delivered, lent buffers come back
// by identity, supervision restarts with fresh state on the same socket,
// other actors reach the handler at the connection's PID, and a blocking
// handler on the worker pool stalls nobody else.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/test/testkit"
)

// rawEcho dials addr with Go's net, sends msg, half-closes at once and
// reads everything until the server closes.
func rawEcho(addr string, msg []byte) ([]byte, error) {
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return nil, err
	}
	return io.ReadAll(c)
}

// echoAll has n clients at once each send a message, half-close and read
// the echo to the end; it reports every client that did not get its
// whole echo.
func echoAll(t *testing.T, addr string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := fmt.Appendf(nil, "conn %d", i)
			if got, err := rawEcho(addr, msg); err != nil || !bytes.Equal(got, msg) {
				errs <- fmt.Errorf("conn %d: %q, %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestServeAnswersBeforeFIN: 1,000 clients per family send and
// half-close at once (as `nc -N` and python's sendall + shutdown do), and
// every one gets its whole echo before the connection closes.
func TestServeAnswersBeforeFIN(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		l := serve(t, sys, addr, HandlerFunc(echoing))
		const clients = 1000
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				msg := fmt.Appendf(nil, "client %d: %s\n", i, bytes.Repeat([]byte{'a' + byte(i%26)}, i%700))
				got, err := rawEcho(l.Addr().String(), msg)
				if err != nil || !bytes.Equal(got, msg) {
					errs <- fmt.Errorf("client %d: got %d of %d bytes, %v", i, len(got), len(msg), err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		failed := 0
		for err := range errs {
			if failed++; failed <= 5 {
				t.Error(err)
			}
		}
		if failed > 0 {
			t.Fatalf("%d of %d clients lost part of their answer", failed, clients)
		}
	})
}

// TestServeRetainAcrossCalls: a handler that retains each buffer and
// answers every third Received with all three, then releases them, echoes
// every byte in order while the connection keeps reading into other
// pooled buffers; a retained buffer is never reused before its Release.
func TestServeRetainAcrossCalls(t *testing.T) {
	sys := newSystem(t)
	var held []Loan
	batch := func(c *Conn, msg any) {
		switch msg.(type) {
		case *messages.Received:
			held = append(held, c.Retain())
			if len(held) < 3 {
				return
			}
			for _, l := range held {
				c.Write(l.Bytes())
				l.Release()
				l.Release() // a second Release does nothing
				if l.Bytes() != nil {
					panic("a released Loan still has bytes")
				}
			}
			held = held[:0]
		case *messages.PeerClosed:
			for _, l := range held {
				c.Write(l.Bytes())
				l.Release()
			}
			held = nil
		}
	}
	l := serve(t, sys, "127.0.0.1:0", PerConnection(func() Handler { return HandlerFunc(batch) }), WithReadSize(512))
	msg := make([]byte, 1<<20)
	for i := range msg {
		msg[i] = byte(i * 13 / 7)
	}
	got, err := rawEcho(l.Addr().String(), msg)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo through retained buffers: %d of %d bytes, equal %v, %v", len(got), len(msg), bytes.Equal(got, msg), err)
	}
}

// counter is a stateful handler: it answers each line with how many it
// has seen, and panics on "panic".
type counter struct{ seen int }

func (h *counter) Receive(c *Conn, msg any) {
	if m, ok := msg.(*messages.Received); ok {
		if string(m.GetData()) == "panic" {
			panic("counter told to fail")
		}
		h.seen++
		c.Write(fmt.Appendf(nil, "%d", h.seen))
	}
}

// TestServeRestartGivesFreshState: a handler panic under the default
// strategy replaces the handler (its count starts again) on the same
// socket; under a stopping strategy the connection closes.
func TestServeRestartGivesFreshState(t *testing.T) {
	for _, restart := range []bool{true, false} {
		t.Run(map[bool]string{true: "restart", false: "stop"}[restart], func(t *testing.T) {
			sys := newSystem(t)
			// Lines, so that "panic" and the next "x" are two Received
			// however TCP cuts them; each answer is framed as a line too.
			opts := []ServeOption{WithFraming(mustFraming(t)(Lines(64)))}
			if !restart {
				opts = append(opts, WithHandlerSupervisor(actors.StoppingStrategy()))
			}
			l := serve(t, sys, "127.0.0.1:0", PerConnection(func() Handler { return &counter{} }), opts...)
			ctx := testCtx(t)
			c := dial(t, sys, l.Addr().String())
			for _, want := range []string{"1\n", "2\n"} {
				c.Send(ctx, []byte("x\n"))
				if got, err := c.RecvExact(ctx, 2); err != nil || string(got) != want {
					t.Fatalf("count = %q, %v; want %q", got, err, want)
				}
			}
			c.Send(ctx, []byte("panic\n"))
			if !restart {
				if _, err := c.Recv(ctx, 16); !errors.Is(err, io.EOF) {
					t.Fatalf("after a stopped handler the client read %v; want end of stream", err)
				}
				return
			}
			c.Send(ctx, []byte("x\n"))
			if got, err := c.RecvExact(ctx, 2); err != nil || string(got) != "1\n" {
				t.Fatalf("count after restart = %q, %v; want a fresh handler's 1", got, err)
			}
		})
	}
}

// note is what the room below tells its members.
type note struct{ text string }

// member is an actor handler: it tells the room its connection's PID and
// writes whatever note reaches that PID.
type member struct{ room *actor.PID }

func (m *member) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *messages.Connected:
		if !msg.GetConnection().PID().Equal(ctx.Self()) {
			panic("Connected names another actor than the connection")
		}
		ctx.Send(m.room, ctx.Self())
	case note:
		if err := ConnOf(ctx).Write([]byte(msg.text)); err != nil {
			panic(err)
		}
		ctx.Respond("written") // the sender is the room
	}
}

// TestServeMessagesReachTheHandler: another actor sends notes to the
// connection's PID; the actor handler writes them and answers the sender.
func TestServeMessagesReachTheHandler(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		members := make(chan *actor.PID, 1)
		acks := make(chan any, 1)
		room := sys.Root().Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
			switch m := ctx.Message().(type) {
			case *actor.PID:
				members <- m
			case string:
				acks <- m
			}
		}))
		t.Cleanup(func() { sys.Root().Stop(room) })
		l := serve(t, sys, addr, ActorHandler(func() actor.Actor { return &member{room: room} }))
		ctx := testCtx(t)
		c := dial(t, sys, l.Addr().String())
		var conn *actor.PID
		select {
		case conn = <-members:
		case <-time.After(testTimeout):
			t.Fatal("the member never told the room its PID")
		}
		sys.Root().RequestWithCustomSender(conn, note{"hello from the room"}, room)
		if got, err := c.RecvExact(ctx, 19); err != nil || string(got) != "hello from the room" {
			t.Fatalf("client read %q, %v", got, err)
		}
		select {
		case <-acks:
		case <-time.After(testTimeout):
			t.Fatal("the handler's Respond never reached the room")
		}
	})
}

// blockingEcho is an echo handler that blocks on "block" (as a
// Future.Wait would) until release is closed, saying so on blocked.
func blockingEcho() (h Handler, blocked <-chan struct{}, release chan struct{}) {
	release = make(chan struct{})
	b := make(chan struct{}, 1)
	h = HandlerFunc(func(c *Conn, msg any) {
		m, ok := msg.(*messages.Received)
		if !ok {
			return
		}
		if string(m.GetData()) == "block" {
			b <- struct{}{}
			<-release
		}
		c.Write(m.GetData())
	})
	return h, b, release
}

// TestServeBlockingHandlers: with WithBlockingHandlers, one connection's
// handler blocked on a channel stalls nobody: 100 other connections on the
// same system echo meanwhile.
func TestServeBlockingHandlers(t *testing.T) {
	sys := newSystem(t)
	h, blocked, release := blockingEcho()
	l := serve(t, sys, "127.0.0.1:0", h, WithBlockingHandlers())
	ctx := testCtx(t)
	stuck := dial(t, sys, l.Addr().String())
	stuck.Send(ctx, []byte("block"))
	<-blocked
	echoAll(t, l.Addr().String(), 100)
	close(release)
	if got, err := stuck.RecvExact(ctx, 5); err != nil || string(got) != "block" {
		t.Fatalf("the blocked connection after release: %q, %v", got, err)
	}
}

// registrar is a separate actor that gets a connection's events
// (Register): it grants credit ahead, two per Received, writes each copy
// back, and closes after PeerClosed.
type registrar struct{}

func (r *registrar) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.Connected:
		ctx.Send(m.GetConnection().PID(), &messages.ResumeReading{Credit: 2})
	case *messages.Received:
		// The sender is the connection; the data is a copy, so credit
		// granted ahead cannot take it away.
		ctx.Send(ctx.Sender(), &messages.Write{Data: m.GetData(), Credit: 2})
	case *messages.PeerClosed:
		ctx.Send(ctx.Sender(), &messages.Close{})
	}
}

// TestServeRegister: events go to a separate actor, which drives the
// connection with messages and grants credit ahead; a 1 MiB echo through it
// arrives intact and in order, and the connection closes when the actor
// says so after the peer's FIN.
func TestServeRegister(t *testing.T) {
	sys := newSystem(t)
	pid := sys.Root().Spawn(actor.PropsFromProducer(func() actor.Actor { return &registrar{} }))
	t.Cleanup(func() { sys.Root().Stop(pid) })
	l := serve(t, sys, "127.0.0.1:0", Register(pid), WithReadCredit(1), WithReadSize(1024))
	msg := make([]byte, 1<<20)
	for i := range msg {
		msg[i] = byte(i * 31 / 7)
	}
	got, err := rawEcho(l.Addr().String(), msg)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo through a registered actor: %d of %d bytes, equal %v, %v", len(got), len(msg), bytes.Equal(got, msg), err)
	}
}

// TestConnectionOutsideItsHandler: a Conn kept and used from
// another goroutine refuses with ErrOutsideHandler, naming the operation.
func TestConnectionOutsideItsHandler(t *testing.T) {
	sys := newSystem(t)
	kept := make(chan *Conn, 1)
	l := serve(t, sys, "127.0.0.1:0", HandlerFunc(func(c *Conn, msg any) {
		if _, ok := msg.(*messages.Connected); ok {
			kept <- c
		}
	}))
	dial(t, sys, l.Addr().String())
	c := <-kept
	// A request answered by the connection actor orders this goroutine
	// after the handler's return.
	s := actors.SocketOf(sys, c.PID())
	if _, err := s.Info(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	err := c.Write([]byte("x"))
	// And another request orders the actor's next run after that check.
	if _, err := s.Info(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(err, ErrOutsideHandler) || !bytes.Contains([]byte(err.Error()), []byte("write")) {
		t.Fatalf("Write outside the handler = %v; want ErrOutsideHandler naming write", err)
	}
}

// TestServeStallWatchdog: a handler that blocks without saying so (no
// WithBlockingHandlers) on a system with a single poller: within the stall
// budget the watchdog moves its connection off the poller and hands the
// poller's loop to a new goroutine, so 100 other connections echo while
// it is still blocked; the stall is published and counted.
func TestServeStallWatchdog(t *testing.T) {
	// The budget is long enough that on a loaded machine under -race an
	// echo's delivery is not taken for a stall (20 ms was: "Stalls = 2").
	sys := newSystem(t, actors.WithPollers(1), actors.WithStallBudget(100*time.Millisecond))
	stalls := testkit.Stalls(t, sys)
	h, blocked, release := blockingEcho()
	l := serve(t, sys, "127.0.0.1:0", h)
	ctx := testCtx(t)
	stuck := dial(t, sys, l.Addr().String())
	stuck.Send(ctx, []byte("block"))
	<-blocked
	since := time.Now()
	var s *actors.Stalled
	select {
	case s = <-stalls:
		t.Logf("Stalled %v after the handler blocked (budget 100 ms)", time.Since(since))
	case <-time.After(testTimeout):
		close(release)
		t.Fatal("no Stalled event while a handler blocked its poller")
	}
	if s.Kind != "tcp.conn" || s.Service != l.Addr().String() {
		t.Errorf("Stalled = %+v; want the connection of %s", s, l.Addr())
	}
	echoAll(t, l.Addr().String(), 100)
	close(release)
	if got, err := stuck.RecvExact(ctx, 5); err != nil || string(got) != "block" {
		t.Fatalf("the blocked connection after release: %q, %v", got, err)
	}
	// It runs on the worker pool now, and still echoes.
	stuck.Send(ctx, []byte("again"))
	if got, err := stuck.RecvExact(ctx, 5); err != nil || string(got) != "again" {
		t.Fatalf("the moved connection: %q, %v", got, err)
	}
	if got := sys.Metrics().Sockets[actors.MetricKey{Kind: "tcp.conn", Service: l.Addr().String()}].Stalls; got != 1 {
		t.Fatalf("Stalls = %d, want 1", got)
	}
}

// TestServeRequestToHandler: actors.Request to a connection's PID with a
// message that is not a connection command reaches the handler, whose
// Respond resolves the caller's future.
func TestServeRequestToHandler(t *testing.T) {
	sys := newSystem(t)
	pids := make(chan *actor.PID, 1)
	l := serve(t, sys, "127.0.0.1:0", HandlerFunc(func(c *Conn, msg any) {
		switch msg.(type) {
		case *messages.Connected:
			pids <- c.PID()
		case *messages.GetStats:
			c.Respond(&messages.ListenerStats{Live: 42})
		}
	}))
	dial(t, sys, l.Addr().String())
	pid := <-pids
	got, err := actors.Request[*messages.ListenerStats](sys.Root(), pid, &messages.GetStats{}).Wait(testCtx(t))
	if err != nil || got.GetLive() != 42 {
		t.Fatalf("request answered by the handler = %v, %v; want Live 42", got, err)
	}
}

// TestStopWithABlockedHandler: System.Stop returns by its deadline when a
// handler blocks (on the worker pool, or on its poller before the watchdog
// acts), with an error that names what did not stop; once the handler
// returns, everything ends (the leak check in TestMain sees to it).
func TestStopWithABlockedHandler(t *testing.T) {
	t.Parallel() // waits out timeouts or other processes
	for _, pool := range []bool{true, false} {
		t.Run(map[bool]string{true: "worker pool", false: "poller"}[pool], func(t *testing.T) {
			sys, err := actors.Start(actors.WithStallBudget(0))
			if err != nil {
				t.Fatal(err)
			}
			release := make(chan struct{})
			blocked := make(chan struct{}, 1)
			h := HandlerFunc(func(c *Conn, msg any) {
				if _, ok := msg.(*messages.Received); ok {
					blocked <- struct{}{}
					<-release
				}
			})
			var opts []ServeOption
			if pool {
				opts = append(opts, WithBlockingHandlers())
			}
			l, err := Serve(testCtx(t), sys, "127.0.0.1:0", h, opts...)
			if err != nil {
				t.Fatal(err)
			}
			c, err := net.DialTimeout("tcp", l.Addr().String(), testTimeout)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte("block"))
			<-blocked
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			err = sys.Stop(ctx)
			took := time.Since(start)
			close(release)
			holder := map[bool]string{true: "worker(s) still running", false: "wait loop still running"}[pool]
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "tcp.conn") || !strings.Contains(err.Error(), holder) {
				t.Fatalf("Stop = %v; want a deadline error naming the connection and %q", err, holder)
			}
			if took > 2*time.Second {
				t.Fatalf("Stop took %v past its 200 ms deadline", took)
			}
			t.Log(err)
			// Released, the connection ends: its peer reads end of stream.
			c.SetDeadline(time.Now().Add(testTimeout))
			if _, err := io.ReadAll(c); err != nil {
				t.Fatalf("after release the connection did not end: %v", err)
			}
		})
	}
}

// TestServeNilHandlers: Serve and StartService refuse a nil handler in
// every form, naming the operation.
func TestServeNilHandlers(t *testing.T) {
	sys := newSystem(t)
	for name, h := range map[string]Handler{
		"nil":                nil,
		"HandlerFunc(nil)":   HandlerFunc(nil),
		"PerConnection(nil)": PerConnection(nil),
		"ActorHandler(nil)":  ActorHandler(nil),
		"Register(nil)":      Register(nil),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Serve(testCtx(t), sys, "127.0.0.1:0", h); !errors.Is(err, socket.ErrInvalidArgument) || !strings.Contains(err.Error(), "listen tcp: invalid argument: nil handler") {
				t.Fatalf("Serve = %v; want listen tcp: invalid argument: nil handler", err)
			}
			if _, err := StartService(testCtx(t), sys, "127.0.0.1:0", h); !errors.Is(err, socket.ErrInvalidArgument) {
				t.Fatalf("StartService = %v; want invalid argument", err)
			}
		})
	}
}
