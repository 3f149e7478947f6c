package test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/test/testkit"
	"github.com/actornet/actornet/udp"
)

// TestBadInput is every kind of bad input in one table: each gets an error
// that names its operation and matches a sentinel with errors.Is, within a
// bounded time; none panics or hangs. Listed in test/README.md. (A Recv of
// 0 bytes is not bad input: like io.Reader, it answers at once, empty.)
func TestBadInput(t *testing.T) {
	sys := testkit.System(t)
	ctx := testkit.Context(t)
	l, err := tcp.Listen(ctx, sys, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	newClient := func() *tcp.Client {
		c, err := tcp.NewClient(sys)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close(context.Background()) })
		return c
	}
	connected := func() *tcp.Client {
		c := newClient()
		if _, err := c.ConnectAddrPort(ctx, l.Addr(), time.Second); err != nil {
			t.Fatal(err)
		}
		s, err := l.Accept(ctx, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close(context.Background()) })
		return c
	}
	closedClient := func() *tcp.Client {
		c := connected()
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
		return c
	}
	peer := func() *udp.Peer {
		p, err := udp.Bind(ctx, sys, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close(context.Background()) })
		return p
	}
	statusErr := func(st interface{ GetStatus() *messages.Status }, err error) error {
		if err != nil {
			return err
		}
		return st.GetStatus().Err()
	}
	connect := func(addr string, timeout time.Duration) error {
		_, err := newClient().Connect(ctx, addr, timeout)
		return err
	}
	big := make([]byte, 70000)

	cases := []struct {
		name string
		op   string
		want error
		run  func() error
	}{
		// Addresses and ports.
		{"connect to a malformed address", "connect", socket.ErrInvalidAddress, func() error { return connect("not an address", time.Second) }},
		{"connect to port 99999", "connect", socket.ErrInvalidAddress, func() error { return connect("127.0.0.1:99999", time.Second) }},
		{"connect to port -1", "connect", socket.ErrInvalidAddress, func() error { return connect("127.0.0.1:-1", time.Second) }},
		{"connect to an empty address", "connect", socket.ErrInvalidAddress, func() error { return connect("", time.Second) }},
		{"connect to port 0", "connect", socket.ErrInvalidAddress, func() error { return connect("127.0.0.1:0", time.Second) }},
		{"listen on a malformed address", "listen", socket.ErrInvalidAddress, func() error { _, err := tcp.Listen(ctx, sys, "300.1.1.1:0"); return err }},
		{"listen on port 70000", "listen", socket.ErrInvalidAddress, func() error { _, err := tcp.Listen(ctx, sys, "127.0.0.1:70000"); return err }},
		{"bind a malformed address", "bind", socket.ErrInvalidAddress, func() error { _, err := udp.Bind(ctx, sys, "::1"); return err }},
		{"sendto an invalid address", "sendto", socket.ErrInvalidAddress, func() error { _, err := peer().SendTo(ctx, netip.AddrPort{}, []byte("x"), time.Second); return err }},

		// Sizes and timeouts.
		{"connect with a negative timeout", "connect", socket.ErrInvalidArgument, func() error { return connect(l.Addr().String(), -time.Second) }},
		{"recv of -1 bytes", "recv", socket.ErrInvalidArgument, func() error { _, err := connected().Recv(ctx, -1, time.Second); return err }},
		{"recvexact of -5 bytes", "recvexact", socket.ErrInvalidArgument, func() error { _, err := connected().RecvExact(ctx, -5, time.Second); return err }},
		{"recv with a negative timeout", "recv", socket.ErrInvalidArgument, func() error { _, err := connected().Recv(ctx, 16, -time.Millisecond); return err }},
		{"send with a negative timeout", "send", socket.ErrInvalidArgument, func() error { _, err := connected().Send(ctx, []byte("x"), -time.Millisecond); return err }},
		{"accept with a negative timeout", "accept", socket.ErrInvalidArgument, func() error { _, err := l.Accept(ctx, -time.Second); return err }},
		{"recvfrom of 0 bytes", "recvfrom", socket.ErrInvalidArgument, func() error { _, err := peer().RecvFrom(ctx, 0, time.Second); return err }},
		{"a datagram over 65,535 bytes", "sendto", syscall.EMSGSIZE, func() error {
			_, err := peer().SendTo(ctx, netip.MustParseAddrPort("127.0.0.1:9"), big, time.Second)
			return err
		}},
		{"poll with a negative timeout", "poll", socket.ErrInvalidArgument, func() error { _, err := connected().Poll(ctx, messages.PollOp_POLL_OP_READ, -time.Second); return err }},
		{"length prefix of 3 bytes", "", socket.ErrInvalidArgument, func() error { _, err := tcp.LengthPrefixed(3, 100); return err }},
		{"line limit of 0", "", socket.ErrInvalidArgument, func() error { _, err := tcp.Lines(0); return err }},

		// Messages a socket actor does not take.
		{"bind sent to a TCP client", "bind", socket.ErrInvalidArgument, func() error {
			c := newClient()
			return statusErr(actors.Request[*messages.BindResult](sys.Root(), c.PID(), &messages.Bind{}).Wait(ctx))
		}},
		{"accept sent to a UDP peer", "accept", socket.ErrInvalidArgument, func() error {
			return statusErr(actors.Request[*messages.AcceptResult](sys.Root(), peer().PID(), &messages.Accept{}).Wait(ctx))
		}},
		{"inject fault without fault injection", "injectfault", socket.ErrInvalidArgument, func() error {
			st, err := actors.Request[*messages.Status](sys.Root(), peer().PID(), &messages.InjectFault{}).Wait(ctx)
			if err != nil {
				return err
			}
			return st.Err()
		}},

		// Wrong state.
		{"send before connect", "send", syscall.ENOTCONN, func() error { _, err := newClient().Send(ctx, []byte("x"), time.Second); return err }},
		{"recvfrom on a send-only peer", "recvfrom", socket.ErrUDPNotBound, func() error {
			p, err := udp.NewPeer(sys)
			if err != nil {
				return err
			}
			defer p.Close(ctx)
			_, err = p.RecvFrom(ctx, 16, time.Second)
			return err
		}},
		{"send after close", "send", net.ErrClosed, func() error { _, err := closedClient().Send(ctx, []byte("x"), time.Second); return err }},
		{"recv after close", "recv", net.ErrClosed, func() error { _, err := closedClient().Recv(ctx, 16, time.Second); return err }},
		{"double close", "close", net.ErrClosed, func() error { return closedClient().Close(ctx) }},
		{"sendto after close", "sendto", net.ErrClosed, func() error {
			p := peer()
			_ = p.Close(ctx)
			_, err := p.SendTo(ctx, netip.MustParseAddrPort("127.0.0.1:9"), []byte("x"), time.Second)
			return err
		}},
		{"system stopped during a pending recv", "recv", socket.ErrCancelled, func() error {
			sys2, err := actors.Start()
			if err != nil {
				return err
			}
			// The peer is outside the stopped system, so only Stop can end
			// the Recv.
			c, err := tcp.Dial(ctx, sys2, goEcho(t))
			if err != nil {
				return err
			}
			pending := c.RecvAsync(16, 0)
			if err := sys2.Stop(ctx); err != nil {
				return err
			}
			res, err := pending.Wait(ctx)
			if err != nil {
				return err
			}
			return res.GetStatus().Err()
		}},
		{"accept after the listener closed", "accept", net.ErrClosed, func() error {
			l2, err := tcp.Listen(ctx, sys, "127.0.0.1:0")
			if err != nil {
				return err
			}
			_ = l2.Close(ctx)
			_, err = l2.Accept(ctx, time.Second)
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- tc.run() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(testkit.Timeout):
				t.Fatal("no answer: hung")
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %q does not match %v", err, tc.want)
			}
			if tc.op != "" && !strings.Contains(err.Error(), tc.op) {
				t.Errorf("error %q does not name the operation %q", err, tc.op)
			}
		})
	}
}

// TestStopDuringPendingRequests: stopping the system answers requests in
// flight (a Recv with no timeout, an Accept, a RecvFrom) instead of leaving
// their callers waiting.
func TestStopDuringPendingRequests(t *testing.T) {
	sys, err := actors.Start()
	if err != nil {
		t.Fatal(err)
	}
	ctx := testkit.Context(t)
	l, err := tcp.Listen(ctx, sys, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tcp.Dial(ctx, sys, l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Accept(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p, err := udp.Bind(ctx, sys, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	recv := c.RecvAsync(16, 0)
	accept := l.AcceptAsync(0)
	recvFrom := p.RecvFromAsync(16, 0)
	_ = s
	if err := sys.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]interface{ Done() <-chan struct{} }{"recv": recv, "accept": accept, "recvfrom": recvFrom} {
		select {
		case <-f.Done():
		case <-ctx.Done():
			t.Fatalf("%s still pending after Stop", name)
		}
	}
	if r, err := recv.Wait(ctx); err == nil && r.GetStatus().Err() == nil {
		t.Fatalf("recv after Stop: %v", r)
	}
}
