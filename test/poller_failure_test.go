package test

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/test/testkit"
)

// A poller's wait loop fails under a running TCP service: every socket it
// watched (the listener, the accepted connections, a client) ends with an
// error naming the poller, no request hangs, the service's listener comes
// back on a fresh loop, and new connections are served. TestMain checks
// that no fd or goroutine is left.
func TestPollerFailureUnderATCPService(t *testing.T) {
	testkit.ForEachFamily(t, func(t *testing.T, addr string) {
		sys := testkit.System(t, actors.WithPollers(1), actors.WithFaultInjection())
		failed := make(chan *messages.PollerFailed, 4)
		relistened := make(chan *tcp.ListenerRestarted, 4)
		sub := sys.Actors.EventStream.Subscribe(func(evt interface{}) {
			switch e := evt.(type) {
			case *messages.PollerFailed:
				failed <- e
			case *tcp.ListenerRestarted:
				relistened <- e
			}
		})
		t.Cleanup(func() { sys.Actors.EventStream.Unsubscribe(sub) })

		closedWith := make(chan error, 8)
		echo := tcp.HandlerFunc(func(c *tcp.Conn, msg any) {
			switch m := msg.(type) {
			case *messages.Received:
				c.Write(m.GetData())
			case *messages.ErrorClosed:
				closedWith <- m.GetCause().Err()
			}
		})
		ctx := testkit.Context(t)
		svc, err := tcp.StartService(ctx, sys, addr, echo)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = svc.Stop(testkit.Context(t)) })

		raw := dialEcho(t, svc.Addr().String())
		client, err := tcp.Dial(ctx, sys, svc.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = client.Close(testkit.Context(t)) })
		// One echo first: the server has accepted the client's connection.
		if _, err := client.Send(ctx, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if got, err := client.RecvExact(ctx, 1); err != nil || string(got) != "x" {
			t.Fatalf("echo = %q, %v", got, err)
		}
		// Nothing more comes: this request is pending at the failure (the
		// future is asked before the fault is injected).
		pending := client.RecvExactAsync(1000, 0)

		res, err := sys.Root().RequestFuture(sys.PollerPIDs()[0], &messages.InjectFault{}, testkit.Timeout).Result()
		if st, ok := res.(*messages.Status); err != nil || !ok || st.Err() != nil {
			t.Fatalf("InjectFault = %v, %v", res, err)
		}

		rr, err := pending.Wait(ctx)
		if err == nil {
			err = rr.GetStatus().Err()
		}
		wantPollerFailure(t, "the client's pending RecvExact", err)
		for i := range 2 { // the raw client's connection and the client's
			select {
			case err := <-closedWith:
				wantPollerFailure(t, "the handler's ErrorClosed", err)
			case <-time.After(testkit.Timeout):
				t.Fatalf("handler %d never heard its connection close", i)
			}
		}
		_ = raw.SetReadDeadline(time.Now().Add(testkit.Timeout))
		if n, err := raw.Read(make([]byte, 16)); n != 0 || err == nil || errors.Is(err, net.ErrClosed) {
			t.Fatalf("raw client read %d, %v; want end of stream", n, err)
		}
		select {
		case e := <-failed:
			// The listener, two accepted connections, the client.
			if e.GetPoller() != "actornet/poller/0" || e.GetSockets() != 4 {
				t.Fatalf("PollerFailed = %v; want 4 sockets of actornet/poller/0", e)
			}
		case <-time.After(testkit.Timeout):
			t.Fatal("no PollerFailed published")
		}
		select {
		case <-relistened:
		case <-time.After(testkit.Timeout):
			t.Fatal("the service never listened again")
		}

		dialEcho(t, svc.Addr().String())
		again, err := tcp.Dial(ctx, sys, svc.Addr().String())
		if err != nil {
			t.Fatalf("Dial after the failure: %v", err)
		}
		t.Cleanup(func() { _ = again.Close(testkit.Context(t)) })
		if _, err := again.Send(ctx, []byte("again")); err != nil {
			t.Fatal(err)
		}
		if got, err := again.RecvExact(ctx, 5); err != nil || string(got) != "again" {
			t.Fatalf("echo after the failure = %q, %v", got, err)
		}
	})
}

// dialEcho connects with Go's net, checks one echo and returns the
// connection, closed at cleanup.
func dialEcho(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, testkit.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(testkit.Timeout))
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("echo = %q, %v", buf, err)
	}
	return c
}

func wantPollerFailure(t *testing.T, what string, err error) {
	t.Helper()
	t.Logf("%s: %v", what, err)
	var pe *socket.PollerError
	if !errors.Is(err, socket.ErrPolling) || !errors.As(err, &pe) || pe.Poller != "actornet/poller/0" || !strings.Contains(err.Error(), "fault injected") {
		t.Fatalf("%s = %v; want a polling error naming actornet/poller/0", what, err)
	}
}
