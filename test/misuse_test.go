package test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/test/testkit"
	"github.com/actornet/actornet/udp"
)

// TestMisuseGetsErrors: a nil system, a zero handle and a context that
// has already ended get an error naming the operation, never a panic, and
// nothing is sent.
func TestMisuseGetsErrors(t *testing.T) {
	sys := testkit.System(t)
	ctx := testkit.Context(t)
	ended, cancel := context.WithCancel(ctx)
	cancel()
	srv, err := udp.Bind(ctx, sys, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(ctx)
	l, err := tcp.Listen(ctx, sys, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	c, err := tcp.Dial(ctx, sys, l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)

	var zeroClient tcp.Client
	var zeroListener tcp.Listener
	var zeroPeer udp.Peer
	cases := []struct {
		name string
		op   string
		is   error
		run  func() error
	}{
		{"tcp.Dial on a nil system", "socket", socket.ErrInvalidArgument, func() error { _, err := tcp.Dial(ctx, nil, "127.0.0.1:1"); return err }},
		{"tcp.Listen on a nil system", "listen", socket.ErrInvalidArgument, func() error { _, err := tcp.Listen(ctx, nil, "127.0.0.1:0"); return err }},
		{"udp.Bind on a nil system", "bind", socket.ErrInvalidArgument, func() error { _, err := udp.Bind(ctx, nil, "127.0.0.1:0"); return err }},
		{"actors.SpawnSocket of a nil socket", "spawn", socket.ErrInvalidArgument, func() error { _, err := actors.SpawnSocket(sys, nil); return err }},
		{"Send on a zero Client", "send", socket.ErrInvalidArgument, func() error { _, err := zeroClient.Send(ctx, []byte("x")); return err }},
		{"Accept on a zero Listener", "accept", socket.ErrInvalidArgument, func() error { _, err := zeroListener.Accept(ctx); return err }},
		{"Close of a zero Listener", "close", socket.ErrInvalidArgument, func() error { return zeroListener.Close(ctx) }},
		{"RecvFrom on a zero Peer", "recvfrom", socket.ErrInvalidArgument, func() error { _, _, err := zeroPeer.RecvFrom(ctx, 16); return err }},
		{"tcp.Dial with an ended context", "connect", context.Canceled, func() error { _, err := tcp.Dial(ended, sys, l.Addr().String()); return err }},
		{"tcp.Listen with an ended context", "listen", context.Canceled, func() error { _, err := tcp.Listen(ended, sys, "127.0.0.1:0"); return err }},
		{"udp.Bind with an ended context", "bind", context.Canceled, func() error { _, err := udp.Bind(ended, sys, "127.0.0.1:0"); return err }},
		{"Send with an ended context", "send", context.Canceled, func() error { _, err := c.Send(ended, []byte("x")); return err }},
		{"SendTo with an ended context", "sendto", context.Canceled, func() error {
			_, err := srv.SendTo(ended, netip.MustParseAddrPort("127.0.0.1:9"), []byte("x"))
			return err
		}},
		{"udp.Dial with an ended context", "connect", context.Canceled, func() error { _, err := udp.Dial(ended, sys, srv.LocalAddr().String()); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			var oe *socket.OpError
			if !errors.Is(err, tc.is) || !errors.As(err, &oe) || oe.Op != tc.op {
				t.Fatalf("%s = %v; want an OpError for %q wrapping %v", tc.name, err, tc.op, tc.is)
			}
		})
	}
	// Nothing was sent by the calls with an ended context: the server
	// got no datagram, the listener no second connection.
	if _, _, err := srv.RecvFrom(testkit.Within(t, 50*time.Millisecond), 16); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the server received something: %v", err)
	}
}

// TestPendingCallAtCloseIsClosed: a call pending on a handle when the
// handle closes ends with an error that errors.Is net.ErrClosed (as Go's
// net answers a Read pending at Close), so an accept loop that stops on
// net.ErrClosed stops.
func TestPendingCallAtCloseIsClosed(t *testing.T) {
	sys := testkit.System(t)
	ctx := testkit.Context(t)
	l, err := tcp.Listen(ctx, sys, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan error, 1)
	go func() { _, err := l.Accept(ctx); accepted <- err }()
	// The goroutine's Accept may reach the listener before or after the
	// Close: both answers are net.ErrClosed. This one is pending for sure.
	pending := l.AcceptAsync(0)
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := pending.Wait(ctx); err != nil || !errors.Is(res.GetStatus().Err(), net.ErrClosed) {
		t.Fatalf("AcceptAsync pending at Close = %v, %v; want net.ErrClosed", res, err)
	}
	select {
	case err := <-accepted:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept pending at Close = %v; want net.ErrClosed", err)
		}
	case <-ctx.Done():
		t.Fatal("Accept still pending after Close")
	}
}

// TestNilNetConnClient: wrapping a nil client is an error, not a panic.
func TestNilNetConnClient(t *testing.T) {
	if _, err := tcp.NewNetConn(testkit.Context(t), nil); !errors.Is(err, socket.ErrInvalidArgument) {
		t.Fatalf("NewNetConn(nil) = %v; want invalid argument", err)
	}
}
