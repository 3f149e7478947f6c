package tcp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
)

// handler is a push-mode test handler: it reports every event on events
// (a Received as a copy: its data is lent) and runs onEvent, if set, to
// act on it.
type handler struct {
	events  chan any
	onEvent func(c *Conn, msg any)
}

func (h *handler) Receive(c *Conn, msg any) {
	switch m := msg.(type) {
	case *messages.Connected, *messages.Received, *messages.PeerClosed, *messages.Written,
		*messages.WriteFailed, *messages.WriteQueueFilled, *messages.WriteQueueDrained,
		*messages.Closed, *messages.ErrorClosed:
		report := msg
		if r, ok := m.(*messages.Received); ok {
			report = &messages.Received{Data: bytes.Clone(r.GetData())}
		}
		select {
		case h.events <- report:
		default: // a test that does not read events must not block the handler
		}
		if h.onEvent != nil {
			h.onEvent(c, m)
		}
	}
}

func testHandler(events chan any, onEvent func(*Conn, any)) Handler {
	return &handler{events: events, onEvent: onEvent}
}

// echoing writes back what it receives.
func echoing(c *Conn, msg any) {
	if m, ok := msg.(*messages.Received); ok {
		c.Write(m.GetData())
	}
}

func serve(t *testing.T, sys *actors.System, addr string, h Handler, opts ...ServeOption) *Listener {
	t.Helper()
	l, err := Serve(testCtx(t), sys, addr, h, opts...)
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l
}

// next waits for an event of type T, skipping others.
func next[T any](t *testing.T, events chan any) T {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		select {
		case e := <-events:
			if v, ok := e.(T); ok {
				return v
			}
		case <-deadline:
			var zero T
			t.Fatalf("no %T event", zero)
			return zero
		}
	}
}

func TestServeEcho(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		events := make(chan any, 1024)
		l := serve(t, sys, addr, testHandler(events, echoing))
		c := dial(t, sys, l.Addr().String())
		ctx := testCtx(t)
		conn := next[*messages.Connected](t, events)
		if r, _ := conn.GetRemote().AddrPort(); r.Port() == 0 {
			t.Fatalf("Connected = %v", conn)
		}
		ping := bytes.Repeat([]byte("x"), 32)
		c.Send(ctx, ping)
		if got, err := c.RecvExact(ctx, 32); err != nil || !bytes.Equal(got, ping) {
			t.Fatalf("echo = %q, %v", got, err)
		}
		big := make([]byte, 1<<20)
		for i := range big {
			big[i] = byte(i)
		}
		reader := c.RecvExactAsync(len(big), 10*time.Second)
		if _, err := c.Send(ctx, big); err != nil {
			t.Fatal(err)
		}
		res, err := reader.Wait(ctx)
		if err != nil || !bytes.Equal(res.GetData(), big) {
			t.Fatalf("1 MiB echo: %v, %v", err, res.GetStatus())
		}
		st, err := l.Stats(ctx)
		if err != nil || st.GetAccepted() != 1 || st.GetLive() != 1 {
			t.Fatalf("Stats = %v, %v", st, err)
		}
	})
}

// TestServeRetainedBoundsMemory: a handler that retains every buffer and
// never releases one gets exactly WithReadCredit Received, and the server
// stops reading while a client offers 32 MiB: the heap does not grow
// with the offer.
func TestServeRetainedBoundsMemory(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		events := make(chan any, 1024)
		const credit, readSize = 4, 16 << 10
		hoard := func(c *Conn, msg any) {
			if _, ok := msg.(*messages.Received); ok {
				c.Retain()
			}
		}
		l := serve(t, sys, addr, testHandler(events, hoard), WithReadCredit(credit), WithReadSize(readSize))
		c := dial(t, sys, l.Addr().String())
		offer := make([]byte, 32<<20) // twice the heap bound, many times the kernel buffers
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		sent, err := c.Send(within(t, 300*time.Millisecond), offer) // long enough to fill both kernel buffers many times over
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Send of 32 MiB to a stalled server = %d, %v; want a timeout", sent, err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(offer) // its 32 MiB, freed before after, would hide as much growth
		got, bytesIn := 0, 0
		for drained := false; !drained; {
			select {
			case e := <-events:
				if r, ok := e.(*messages.Received); ok {
					got++
					bytesIn += len(r.GetData())
				}
			default:
				drained = true
			}
		}
		if got != credit || bytesIn > credit*readSize {
			t.Fatalf("handler got %d Received (%d bytes); want exactly %d, at most %d bytes", got, bytesIn, credit, credit*readSize)
		}
		if sent >= len(offer) {
			t.Fatalf("the whole offer went out (%d bytes) to a server that stopped reading", sent)
		}
		growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		if growth > 16<<20 {
			t.Fatalf("heap grew by %d bytes while 32 MiB were offered", growth)
		}
		t.Logf("offered 32 MiB: %d bytes sent into the kernel, %d delivered, heap growth %d", sent, bytesIn, growth)
	})
}

// TestServeWriteQueueBound: Writes to a peer that does not read fill the
// kernel's buffers, then the queue past its high watermark (Filled), then
// are refused at its limit; everything acknowledged reaches the peer once
// it reads, and the queue reports Drained.
func TestServeWriteQueueBound(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		events := make(chan any, 1024)
		const chunk, writes = 256 << 10, 64 // 16 MiB offered
		blast := func(c *Conn, msg any) {
			if _, ok := msg.(*messages.Connected); ok {
				data := make([]byte, chunk)
				// As messages to the connection: refusals come back as
				// WriteFailed events (a direct c.WriteAck returns them).
				for i := 1; i <= writes; i++ {
					c.Send(c.PID(), &messages.Write{Data: data, Ack: uint64(i)})
				}
				c.Send(c.PID(), &messages.Write{Data: make([]byte, 2<<20), Ack: 1000})
			}
		}
		l := serve(t, sys, addr, testHandler(events, blast), WithWriteQueue(1<<20, 512<<10, 128<<10))
		c := dial(t, sys, l.Addr().String())
		// The oversize Write was sent last, so once it is refused every other
		// Write was written, refused or queued.
		written, refused, filled := 0, 0, false
		for done := false; !done; {
			switch e := next[any](t, events).(type) {
			case *messages.WriteQueueFilled:
				filled = true
			case *messages.Written:
				written++
			case *messages.WriteFailed:
				if e.GetAck() == 1000 {
					if !errors.Is(e.GetStatus().Err(), syscall.EMSGSIZE) {
						t.Fatalf("oversize Write refused with %v", e.GetStatus())
					}
					done = true
					continue
				}
				if !errors.Is(e.GetStatus().Err(), syscall.EAGAIN) {
					t.Fatalf("WriteFailed = %v; want would_block", e.GetStatus())
				}
				refused++
			}
		}
		if refused == 0 || written == 0 || !filled {
			t.Fatalf("written %d, refused %d, filled %v: the bound never refused, nothing went out, or no high watermark", written, refused, filled)
		}
		// Every Write not refused reaches the peer, and is acknowledged.
		accepted := writes - refused
		got, err := c.RecvExact(testCtx(t), accepted*chunk)
		if err != nil || len(got) != accepted*chunk {
			t.Fatalf("peer read %d bytes, %v; want %d", len(got), err, accepted*chunk)
		}
		// The last Written and Drained may come in either order.
		for drained := false; written < accepted || !drained; {
			switch next[any](t, events).(type) {
			case *messages.Written:
				written++
			case *messages.WriteQueueDrained:
				drained = true
			}
		}
	})
}

func TestServeHandlerFailure(t *testing.T) {
	quitting := func(c *Conn, msg any) {
		if m, ok := msg.(*messages.Received); ok {
			switch string(m.GetData()) {
			case "panic":
				panic("handler failure")
			case "quit":
				c.Context().Stop(c.PID())
			default:
				echoing(c, msg)
			}
		}
	}
	tests := []struct {
		name     string
		opts     []ServeOption
		trigger  string
		survives bool
	}{
		{name: "panic under a stopping strategy closes", opts: []ServeOption{WithHandlerSupervisor(actors.StoppingStrategy())}, trigger: "panic"},
		{name: "panic under the default strategy restarts", trigger: "panic", survives: true},
		{name: "a handler that stops closes", trigger: "quit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachFamily(t, func(t *testing.T, addr string) {
				sys := newSystem(t)
				events := make(chan any, 1024)
				l := serve(t, sys, addr, testHandler(events, quitting), tt.opts...)
				ctx := testCtx(t)
				c := dial(t, sys, l.Addr().String())
				next[*messages.Connected](t, events)
				c.Send(ctx, []byte(tt.trigger))
				if got := next[*messages.Received](t, events); string(got.GetData()) != tt.trigger {
					t.Fatalf("handler received %q", got.GetData())
				}
				if tt.survives {
					// The restarted handler still echoes (its connection is its parent).
					c.Send(ctx, []byte("still"))
					if got, err := c.RecvExact(ctx, 5); err != nil || string(got) != "still" {
						t.Fatalf("after a restart: %q, %v", got, err)
					}
				} else if _, err := c.Recv(ctx, 16); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
					t.Fatalf("after the handler failed the client read %v; want the connection closed", err)
				}
				// The listener keeps serving.
				c2 := dial(t, sys, l.Addr().String())
				c2.Send(ctx, []byte("ping"))
				if got, err := c2.RecvExact(ctx, 4); err != nil || string(got) != "ping" {
					t.Fatalf("a new connection after the failure: %q, %v", got, err)
				}
			})
		})
	}
}

func TestServeHalfClose(t *testing.T) {
	farewell := func(c *Conn, msg any) {
		if _, ok := msg.(*messages.PeerClosed); ok {
			c.Write([]byte("bye"))
			c.Close()
		}
	}
	for _, keepOpen := range []bool{true, false} {
		name := map[bool]string{true: "keep open", false: "close"}[keepOpen]
		t.Run(name, func(t *testing.T) {
			forEachFamily(t, func(t *testing.T, addr string) {
				sys := newSystem(t)
				events := make(chan any, 1024)
				l := serve(t, sys, addr, testHandler(events, farewell), WithKeepOpen(keepOpen))
				ctx := testCtx(t)
				c := dial(t, sys, l.Addr().String())
				next[*messages.Connected](t, events)
				if err := c.Shutdown(ctx, actors.ShutdownWrite); err != nil {
					t.Fatal(err)
				}
				next[*messages.PeerClosed](t, events)
				// Either way, what the handler wrote in answer to the FIN
				// reaches the peer before the connection closes.
				got, err := c.RecvExact(ctx, 3)
				if err != nil || string(got) != "bye" {
					t.Fatalf("%s: %q, %v; want the handler's farewell", name, got, err)
				}
				if _, err := c.Recv(ctx, 16); !errors.Is(err, io.EOF) {
					t.Fatalf("after the farewell: %v; want end of stream", err)
				}
				next[*messages.Closed](t, events)
			})
		})
	}
}

func TestServeConfirmedCloseAndAbort(t *testing.T) {
	for _, cmd := range []string{"confirmed", "abort"} {
		t.Run(cmd, func(t *testing.T) {
			forEachFamily(t, func(t *testing.T, addr string) {
				closer := func(c *Conn, msg any) {
					switch msg.(type) {
					case *messages.Connected:
						if cmd == "confirmed" {
							c.CloseWrite()
						}
					case *messages.Received: // abort once the client is surely connected
						c.Abort()
					}
				}
				sys := newSystem(t)
				events := make(chan any, 1024)
				l := serve(t, sys, addr, testHandler(events, closer))
				ctx := testCtx(t)
				c := dial(t, sys, l.Addr().String())
				if cmd == "abort" {
					c.Send(ctx, []byte("x"))
				}
				_, err := c.Recv(ctx, 16)
				if cmd == "abort" {
					if !errors.Is(err, syscall.ECONNRESET) {
						t.Fatalf("after Abort the client read %v; want ECONNRESET", err)
					}
					next[*messages.Closed](t, events)
					return
				}
				if !errors.Is(err, io.EOF) {
					t.Fatalf("after ConfirmedClose the client read %v; want end of stream", err)
				}
				// The server waits for our FIN before it reports Closed.
				select {
				case e := <-events:
					if _, ok := e.(*messages.Closed); ok {
						t.Fatal("Closed before the peer's FIN")
					}
				default:
				}
				c.Shutdown(ctx, actors.ShutdownWrite)
				next[*messages.Closed](t, events)
			})
		})
	}
}

func TestServeMaxConnectionsAndListenerClose(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		events := make(chan any, 1024)
		l := serve(t, sys, addr, testHandler(events, echoing), WithMaxConnections(1))
		ctx := testCtx(t)
		c1 := dial(t, sys, l.Addr().String())
		next[*messages.Connected](t, events)
		c2 := dial(t, sys, l.Addr().String())
		if _, err := c2.Recv(ctx, 16); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("a connection past the limit read %v; want it closed", err)
		}
		st, err := l.Stats(ctx)
		if err != nil || st.GetRejected() != 1 || st.GetLive() != 1 {
			t.Fatalf("Stats = %v, %v; want 1 rejected, 1 live", st, err)
		}
		// Closing the listener closes only the listening socket.
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		c1.Send(ctx, []byte("alive"))
		if got, err := c1.RecvExact(ctx, 5); err != nil || string(got) != "alive" {
			t.Fatalf("a live connection after the listener closed: %q, %v", got, err)
		}
	})
}

// TestServePeerResetIsErrorClosed: a peer that resets mid-stream closes
// the connection with ErrorClosed carrying ECONNRESET.
func TestServePeerResetIsErrorClosed(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		events := make(chan any, 1024)
		l := serve(t, sys, addr, testHandler(events, echoing))
		ctx := testCtx(t)
		c, err := Dial(ctx, sys, l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Send(ctx, []byte("ping"))
		if _, err := c.RecvExact(ctx, 4); err != nil {
			t.Fatal(err)
		}
		if err := c.Abort(ctx); err != nil {
			t.Fatal(err)
		}
		ec := next[*messages.ErrorClosed](t, events)
		if !errors.Is(ec.GetCause().Err(), syscall.ECONNRESET) {
			t.Fatalf("ErrorClosed cause = %v; want ECONNRESET", ec.GetCause())
		}
	})
}

// TestServeAcceptBatches: more connections than one accept batch arrive at
// once, and every one is accepted (the listener carries on after a batch
// without waiting for a new readiness edge).
func TestServeAcceptBatches(t *testing.T) {
	sys := newSystem(t)
	events := make(chan any, 1024)
	l := serve(t, sys, "127.0.0.1:0", testHandler(events, nil), WithAcceptBatch(2))
	const n = 12
	for i := 0; i < n; i++ {
		dial(t, sys, l.Addr().String())
	}
	for i := 0; i < n; i++ {
		next[*messages.Connected](t, events)
	}
	st, err := l.Stats(testCtx(t))
	if err != nil || st.GetAccepted() != n {
		t.Fatalf("Stats = %v, %v; want %d accepted", st, err, n)
	}
}
