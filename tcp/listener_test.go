package tcp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

func newListener(t testing.TB, addr string, opts ...ListenOption) (*Listener, func() *Client) {
	t.Helper()
	sys := newSystem(t)
	l, err := Listen(testCtx(t), sys, addr, opts...)
	if err != nil {
		t.Fatalf("Listen %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	dialer := func() *Client { return dial(t, sys, l.Addr().String()) }
	return l, dialer
}

func TestListenAcceptBothWays(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		l, dialer := newListener(t, addr)
		if l.Addr().Port() == 0 {
			t.Fatalf("Addr = %v; want the bound port", l.Addr())
		}
		ctx := testCtx(t)
		accepted := l.AcceptAsync(time.Second)
		client := dialer()
		srv, err := l.Accepted(mustWait(t, accepted), nil)
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		defer srv.Close(context.Background())

		ping := bytes.Repeat([]byte{0xa5}, 32)
		if _, err := client.Send(ctx, ping); err != nil {
			t.Fatal(err)
		}
		got, err := srv.RecvExact(ctx, 32)
		if err != nil || !bytes.Equal(got, ping) {
			t.Fatalf("server RecvExact = %x, %v", got, err)
		}
		if _, err := srv.Send(ctx, got); err != nil {
			t.Fatal(err)
		}
		if back, err := client.RecvExact(ctx, 32); err != nil || !bytes.Equal(back, ping) {
			t.Fatalf("client RecvExact = %x, %v", back, err)
		}
		ci, _ := client.Info(ctx)
		si, _ := srv.Info(ctx)
		cl, _ := ci.GetLocal().AddrPort()
		sr, _ := si.GetRemote().AddrPort()
		if cl != sr {
			t.Fatalf("server sees peer %v; client is %v", sr, cl)
		}
	})
}

func mustWait[T any](t testing.TB, f interface {
	Wait(context.Context) (T, error)
}) T {
	t.Helper()
	v, err := f.Wait(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAcceptTimeoutAndCancel(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		l, _ := newListener(t, addr)
		ctx := testCtx(t)
		if _, err := l.Accept(within(t, 30*time.Millisecond)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Accept = %v; want a timeout", err)
		}
		pending := l.AcceptAsync(0)
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Accepted(mustWait(t, pending), nil); !errors.Is(err, socket.ErrCancelled) {
			t.Fatalf("Accept pending at Close = %v; want cancelled", err)
		}
		if _, err := l.Accept(ctx); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close = %v; want net.ErrClosed", err)
		}
	})
}

func TestStoppingListenerCancelsAcceptAndSparesClients(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		l, dialer := newListener(t, addr)
		ctx := testCtx(t)
		accepted := l.AcceptAsync(time.Second)
		client := dialer()
		srv, err := l.Accepted(mustWait(t, accepted), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close(context.Background())
		pending := l.AcceptAsync(0)
		// A stop is a system message and overtakes user messages still in
		// the mailbox: an answer to a request sent after the Accept says
		// the Accept is pending before the stop is sent.
		probe := actors.SocketOf(l.System(), l.PID())
		if _, err := probe.SocketStats(ctx); err != nil {
			t.Fatal(err)
		}
		if err := l.System().Root().StopFuture(l.PID()).Wait(); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Accepted(mustWait(t, pending), nil); !errors.Is(err, socket.ErrCancelled) {
			t.Fatalf("Accept pending at stop = %v; want cancelled", err)
		}
		// The accepted connection outlives its listener.
		if _, err := client.Send(ctx, []byte("alive")); err != nil {
			t.Fatal(err)
		}
		if got, err := srv.RecvExact(ctx, 5); err != nil || string(got) != "alive" {
			t.Fatalf("after the listener stopped: %q, %v", got, err)
		}
		// Nothing listens any more.
		c, err := NewClient(l.System())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		if err := c.Connect(ctx, l.Addr().String()); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("Connect to a stopped listener = %v; want refused", err)
		}
	})
}

func TestListenErrors(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		addr string
		want error
		text string
	}{
		{name: "address in use", addr: busy.Addr().String(), want: syscall.EADDRINUSE, text: "listen tcp4 " + busy.Addr().String()},
		{name: "garbage", addr: "not an address", want: socket.ErrInvalidArgument, text: "address not an address: missing port in address"},
		{name: "bad port", addr: "127.0.0.1:999999", want: socket.ErrInvalidAddress, text: "address 127.0.0.1:999999: invalid port"},
		{name: "bad ip", addr: "999.1.1.1:80", want: socket.ErrInvalidAddress, text: "address 999.1.1.1:80: invalid IP address"},
		{name: "unknown name", addr: "no-such-host.invalid:0", want: socket.ErrNoSuchHost, text: "lookup no-such-host.invalid: no such host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Listen(ctx, sys, tt.addr, WithReuseAddr(false))
			var oe *socket.OpError
			if !errors.Is(err, tt.want) || !errors.As(err, &oe) || oe.Op != "listen" || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("Listen(%q) = %v; want a listen OpError wrapping %v and saying %q", tt.addr, err, tt.want, tt.text)
			}
		})
	}
	if sys.Sockets() != 0 {
		t.Fatalf("%d socket actors left after failed Listens", sys.Sockets())
	}
}

func TestReusePortSharesAPort(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	a, err := Listen(ctx, sys, "127.0.0.1:0", WithReusePort(true))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	b, err := Listen(ctx, sys, a.Addr().String(), WithReusePort(true))
	if err != nil {
		t.Fatalf("second Listen with SO_REUSEPORT: %v", err)
	}
	defer b.Close(context.Background())
	if b.Addr() != a.Addr() {
		t.Fatalf("listeners on %v and %v", a.Addr(), b.Addr())
	}
}

// TestV6OnlyAndDualStack: an IPv6 listener on the IPv4-mapped loopback
// address serves IPv4 clients (dual stack) unless V6Only is set, in which
// case the kernel refuses to bind the mapped address (EINVAL).
func TestV6OnlyAndDualStack(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	l, err := Listen(ctx, sys, "[::ffff:127.0.0.1]:0")
	if err != nil {
		t.Fatalf("dual-stack Listen: %v", err)
	}
	defer l.Close(context.Background())
	info, err := l.Info(ctx)
	if err != nil || info.GetDomain().String() != "DOMAIN_IPV6" {
		t.Fatalf("Info = %v, %v; want an IPv6 socket", info, err)
	}
	accepted := l.AcceptAsync(time.Second)
	dial(t, sys, "127.0.0.1:"+strconv.Itoa(int(l.Addr().Port())))
	if _, err := l.Accepted(mustWait(t, accepted), nil); err != nil {
		t.Fatalf("an IPv4 client on a dual-stack listener: %v", err)
	}
	if _, err := Listen(ctx, sys, "[::ffff:127.0.0.1]:0", WithV6Only(true)); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("V6Only Listen on a mapped address = %v; want EINVAL", err)
	}
}

// TestListenerPropsReusable: ListenerProps spawn a new listener each time;
// two spawns of the same props listen on two ports and both accept.
func TestListenerPropsReusable(t *testing.T) {
	sys := newSystem(t)
	props := ListenerProps(sys)
	ctx := testCtx(t)
	for range 2 {
		pid, err := sys.Runtime().SpawnSocketActor(props)
		if err != nil {
			t.Fatal(err)
		}
		res, err := actors.Request[*messages.ListenResult](sys.Root(), pid, &messages.Listen{HostPort: "127.0.0.1:0"}).Wait(ctx)
		if err != nil || res.GetStatus().Err() != nil {
			t.Fatalf("Listen = %v, %v", res, err)
		}
		l := &Listener{Socket: actors.SocketOf(sys, pid)}
		l.addr, _ = res.GetLocal().AddrPort()
		t.Cleanup(func() { _ = l.Close(context.Background()) })
		acc := l.AcceptAsync(time.Second)
		dial(t, sys, l.addr.String())
		if r, err := acc.Wait(ctx); err != nil || r.GetStatus().Err() != nil {
			t.Fatalf("Accept on spawn of the shared props: %v, %v", r, err)
		}
	}
}

// TestAcceptedSocketOptions: a connection Option given to Listen or Serve
// applies to every accepted connection. WithLinger(0) is visible from the
// peer: closing the accepted side resets the connection instead of
// ending it with a FIN.
func TestAcceptedSocketOptions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		linger bool
	}{
		{name: "default: FIN"},
		{name: "WithLinger(0): RST", linger: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := newSystem(t)
			ctx := testCtx(t)
			var opts []ListenOption
			if tc.linger {
				opts = append(opts, WithLinger(0))
			}
			l, err := Listen(ctx, sys, "127.0.0.1:0", opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close(ctx)
			c := dial(t, sys, l.Addr().String())
			s, err := l.Accept(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(ctx); err != nil {
				t.Fatal(err)
			}
			_, err = c.Recv(ctx, 16)
			if reset := errors.Is(err, syscall.ECONNRESET); reset != tc.linger || (!tc.linger && !errors.Is(err, io.EOF)) {
				t.Fatalf("the peer read %v after the accepted side closed; want reset %v", err, tc.linger)
			}
		})
	}
	// The same option through Serve, for push-mode connections.
	sys := newSystem(t)
	ctx := testCtx(t)
	// It closes on the client's first byte, not on Connected: a reset
	// that may beat the client's own connect check would fail the Dial.
	closeOnData := HandlerFunc(func(c *Conn, msg any) {
		if _, ok := msg.(*messages.Received); ok {
			c.Close()
		}
	})
	l, err := Serve(ctx, sys, "127.0.0.1:0", closeOnData, WithLinger(0), WithReadCredit(2))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	c := dial(t, sys, l.Addr().String())
	if _, err := c.Send(ctx, []byte{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Recv(ctx, 16); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("push mode with WithLinger(0): the peer read %v; want a reset", err)
	}
}
