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
		if err := c.ConnectAddrPort(ctx, l.Addr()); err != nil {
			t.Fatal(err)
		}
		s, err := l.Accept(ctx)
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
		res, err := newClient().ConnectAsync(addr, timeout).Wait(ctx)
		if err != nil {
			return err
		}
		return res.GetError().Err()
	}
	big := make([]byte, 70000)

	cases := []struct {
		name string
		op   string
		want error
		run  func() error
	}{
		// Addresses and ports.
		{name: "connect to a malformed address", op: "connect", want: socket.ErrInvalidAddress, run: func() error { return connect("not an address", time.Second) }},
		{name: "connect to port 99999", op: "connect", want: socket.ErrInvalidAddress, run: func() error { return connect("127.0.0.1:99999", time.Second) }},
		{name: "connect to port -1", op: "connect", want: socket.ErrInvalidAddress, run: func() error { return connect("127.0.0.1:-1", time.Second) }},
		{name: "connect to an empty address", op: "connect", want: socket.ErrInvalidAddress, run: func() error { return connect("", time.Second) }},
		{name: "connect to port 0", op: "connect", want: socket.ErrInvalidAddress, run: func() error { return connect("127.0.0.1:0", time.Second) }},
		{name: "listen on a malformed address", op: "listen", want: socket.ErrInvalidAddress, run: func() error { _, err := tcp.Listen(ctx, sys, "300.1.1.1:0"); return err }},
		{name: "listen on port 70000", op: "listen", want: socket.ErrInvalidAddress, run: func() error { _, err := tcp.Listen(ctx, sys, "127.0.0.1:70000"); return err }},
		{name: "bind a malformed address", op: "bind", want: socket.ErrInvalidAddress, run: func() error { _, err := udp.Bind(ctx, sys, "::1"); return err }},
		{name: "sendto an invalid address", op: "sendto", want: socket.ErrInvalidAddress, run: func() error { _, err := peer().SendTo(ctx, netip.AddrPort{}, []byte("x")); return err }},

		// Sizes and timeouts.
		{name: "connect with a negative timeout", op: "connect", want: socket.ErrInvalidArgument, run: func() error { return connect(l.Addr().String(), -time.Second) }},
		{name: "recv of -1 bytes", op: "recv", want: socket.ErrInvalidArgument, run: func() error { _, err := connected().Recv(ctx, -1); return err }},
		{name: "recvexact of -5 bytes", op: "recvexact", want: socket.ErrInvalidArgument, run: func() error { _, err := connected().RecvExact(ctx, -5); return err }},
		{name: "recv with a negative timeout", op: "recv", want: socket.ErrInvalidArgument, run: func() error { return statusErr(connected().RecvAsync(16, -time.Millisecond).Wait(ctx)) }},
		{name: "send with a negative timeout", op: "send", want: socket.ErrInvalidArgument, run: func() error { return statusErr(connected().SendAsync([]byte("x"), -time.Millisecond).Wait(ctx)) }},
		{name: "accept with a negative timeout", op: "accept", want: socket.ErrInvalidArgument, run: func() error { return statusErr(l.AcceptAsync(-time.Second).Wait(ctx)) }},
		{name: "recvfrom of 0 bytes", op: "recvfrom", want: socket.ErrInvalidArgument, run: func() error { _, _, err := peer().RecvFrom(ctx, 0); return err }},
		{name: "a datagram over 65,535 bytes", op: "sendto", want: syscall.EMSGSIZE, run: func() error {
			_, err := peer().SendTo(ctx, netip.MustParseAddrPort("127.0.0.1:9"), big)
			return err
		}},
		{name: "poll with a negative timeout", op: "poll", want: socket.ErrInvalidArgument, run: func() error {
			res, err := connected().PollAsync(actors.PollRead, -time.Second).Wait(ctx)
			if err != nil {
				return err
			}
			return res.Err()
		}},
		{name: "length prefix of 3 bytes", op: "", want: socket.ErrInvalidArgument, run: func() error { _, err := tcp.LengthPrefixed(3, 100); return err }},
		{name: "line limit of 0", op: "", want: socket.ErrInvalidArgument, run: func() error { _, err := tcp.Lines(0); return err }},

		// Messages a socket actor does not take.
		{name: "bind sent to a TCP client", op: "bind", want: socket.ErrInvalidArgument, run: func() error {
			c := newClient()
			return statusErr(actors.Request[*messages.BindResult](sys.Root(), c.PID(), &messages.Bind{}).Wait(ctx))
		}},
		{name: "accept sent to a UDP peer", op: "accept", want: socket.ErrInvalidArgument, run: func() error {
			return statusErr(actors.Request[*messages.AcceptResult](sys.Root(), peer().PID(), &messages.Accept{}).Wait(ctx))
		}},
		{name: "inject fault without fault injection", op: "injectfault", want: socket.ErrInvalidArgument, run: func() error {
			st, err := actors.Request[*messages.Status](sys.Root(), peer().PID(), &messages.InjectFault{}).Wait(ctx)
			if err != nil {
				return err
			}
			return st.Err()
		}},

		// Wrong state.
		{name: "send before connect", op: "send", want: syscall.ENOTCONN, run: func() error { _, err := newClient().Send(ctx, []byte("x")); return err }},
		{name: "recvfrom on a send-only peer", op: "recvfrom", want: socket.ErrUDPNotBound, run: func() error {
			p, err := udp.NewPeer(sys)
			if err != nil {
				return err
			}
			defer p.Close(ctx)
			_, _, err = p.RecvFrom(ctx, 16)
			return err
		}},
		{name: "send after close", op: "send", want: net.ErrClosed, run: func() error { _, err := closedClient().Send(ctx, []byte("x")); return err }},
		{name: "recv after close", op: "recv", want: net.ErrClosed, run: func() error { _, err := closedClient().Recv(ctx, 16); return err }},
		{name: "double close", op: "close", want: net.ErrClosed, run: func() error { return closedClient().Close(ctx) }},
		{name: "sendto after close", op: "sendto", want: net.ErrClosed, run: func() error {
			p := peer()
			_ = p.Close(ctx)
			_, err := p.SendTo(ctx, netip.MustParseAddrPort("127.0.0.1:9"), []byte("x"))
			return err
		}},
		{name: "system stopped during a pending recv", op: "recv", want: socket.ErrCancelled, run: func() error {
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
		{name: "accept after the listener closed", op: "accept", want: net.ErrClosed, run: func() error {
			l2, err := tcp.Listen(ctx, sys, "127.0.0.1:0")
			if err != nil {
				return err
			}
			_ = l2.Close(ctx)
			_, err = l2.Accept(ctx)
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
	s, err := l.Accept(ctx)
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
