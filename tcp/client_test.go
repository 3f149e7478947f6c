package tcp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

func TestPingServer(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		srv := goServer(t, addr, echo)
		c := dial(t, sys, srv)
		ctx := testCtx(t)

		ping := bytes.Repeat([]byte("p"), 32)
		if n, err := c.Send(ctx, ping); n != 32 || err != nil {
			t.Fatalf("Send = %d, %v", n, err)
		}
		pong, err := c.RecvExact(ctx, 32)
		if err != nil || !bytes.Equal(pong, ping) {
			t.Fatalf("RecvExact = %q, %v", pong, err)
		}

		// 1 MiB each way, the reader and the writer in flight at once.
		big := make([]byte, 1<<20)
		for i := range big {
			big[i] = byte(i * 7)
		}
		reader := c.RecvExactAsync(len(big), 5*time.Second)
		if n, err := c.Send(ctx, big); n != len(big) || err != nil {
			t.Fatalf("Send 1 MiB = %d, %v", n, err)
		}
		res, err := reader.Wait(ctx)
		if err != nil || res.GetStatus().Err() != nil || !bytes.Equal(res.GetData(), big) {
			t.Fatalf("RecvExact 1 MiB: %v %v, %d bytes, equal=%v", err, res.GetStatus(), len(res.GetData()), bytes.Equal(res.GetData(), big))
		}

		// The client counted what it moved: 32 B + 1 MiB each way.
		counts, err := c.SocketStats(ctx)
		want := uint64(32 + len(big))
		if err != nil || counts.GetBytesOut() != want || counts.GetBytesIn() != want || counts.GetReads() == 0 || counts.GetWrites() == 0 || counts.GetErrors() != 0 {
			t.Fatalf("SocketStats = %v, %v; want %d bytes each way", counts, err, want)
		}

		// A second Connect to the same address returns the cached result
		// and never reconnects.
		if err := c.Connect(ctx, srv); err != nil {
			t.Fatalf("second Connect = %v; want the cached connected", err)
		}
		if c.RemoteAddr().String() != srv || !c.LocalAddr().IsValid() {
			t.Fatalf("addresses %v -> %v; want a local address and %v", c.LocalAddr(), c.RemoteAddr(), srv)
		}
		info, err := c.Info(ctx)
		if err != nil || info.GetRemote() == nil {
			t.Fatalf("Info = %v, %v", info, err)
		}
		if got, _ := info.GetRemote().AddrPort(); got.String() != srv {
			t.Fatalf("connected to %v; want %v", got, srv)
		}
	})
}

func TestRecvTimeouts(t *testing.T) {
	t.Parallel() // waits out timeouts or other processes
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		srv := goServer(t, addr, func(c net.Conn) {
			defer c.Close()
			_, _ = c.Write([]byte("half")) // then silence
			_, _ = io.Copy(io.Discard, c)
		})
		c := dial(t, sys, srv)
		prefix, err := c.RecvExact(within(t, 50*time.Millisecond), 8)
		if !errors.Is(err, os.ErrDeadlineExceeded) || string(prefix) != "half" {
			t.Fatalf("RecvExact = %q, %v; want the prefix \"half\" and a timeout", prefix, err)
		}
		data, err := c.Recv(within(t, 50*time.Millisecond), 64)
		if !errors.Is(err, os.ErrDeadlineExceeded) || len(data) != 0 {
			t.Fatalf("Recv = %q, %v; want a timeout and no bytes", data, err)
		}
	})
}

func TestConnectStatuses(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	// A port that was just bound and closed: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	tests := []struct {
		name string
		addr string
		want messages.ConnectStatus
		is   error
		text string // the error names the address and the reason
	}{
		{name: "refused", addr: dead, want: messages.ConnectStatus_CONNECT_STATUS_REFUSED, is: syscall.ECONNREFUSED, text: "connect tcp4 " + dead},
		{name: "no port", addr: "127.0.0.1", want: messages.ConnectStatus_CONNECT_STATUS_INVALID_ADDRESS, is: socket.ErrInvalidAddress, text: "connect tcp: address 127.0.0.1: missing port in address"},
		{name: "port zero", addr: "127.0.0.1:0", want: messages.ConnectStatus_CONNECT_STATUS_INVALID_ADDRESS, is: socket.ErrInvalidAddress, text: "address 127.0.0.1:0: port 0"},
		{name: "port out of range", addr: "127.0.0.1:700000", want: messages.ConnectStatus_CONNECT_STATUS_INVALID_ADDRESS, is: socket.ErrInvalidAddress, text: "address 127.0.0.1:700000: invalid port"},
		{name: "bad port", addr: "[::1]:abc", want: messages.ConnectStatus_CONNECT_STATUS_INVALID_ADDRESS, is: socket.ErrInvalidAddress, text: "address [::1]:abc: invalid port"},
		{name: "bad ip", addr: "256.1.1.1:80", want: messages.ConnectStatus_CONNECT_STATUS_INVALID_ADDRESS, is: socket.ErrInvalidArgument, text: "address 256.1.1.1:80: invalid IP address"},
		{name: "empty", addr: "", want: messages.ConnectStatus_CONNECT_STATUS_INVALID_ADDRESS, is: socket.ErrInvalidArgument, text: "connect tcp: missing address"},
		{name: "unknown name", addr: "no-such-host.invalid:80", want: messages.ConnectStatus_CONNECT_STATUS_ERROR, is: socket.ErrNoSuchHost, text: "lookup no-such-host.invalid: no such host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(sys)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background())
			err = c.Connect(ctx, tt.addr)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("Connect(%q) = %v; want an error wrapping %v and saying %q", tt.addr, err, tt.is, tt.text)
			}
			if tt.is == socket.ErrNoSuchHost && errors.Is(err, socket.ErrInvalidAddress) {
				t.Fatalf("a name that does not resolve is not an invalid address: %v", err)
			}
			var oe *socket.OpError
			if !errors.As(err, &oe) || oe.Op != "connect" {
				t.Fatalf("error %v does not name connect", err)
			}
			// The result is cached, and its status says what happened.
			if again, err := c.ConnectAsync(tt.addr, 0).Wait(ctx); err != nil || again.GetStatus() != tt.want {
				t.Fatalf("second Connect = %v, %v; want the cached %v", again, err, tt.want)
			}
			// Data requests on a client that failed to connect are refused.
			if _, err := c.Send(ctx, []byte("x")); err == nil {
				t.Fatal("Send on an unconnected client succeeded")
			}
		})
	}
	if n := sys.Sockets(); n != 0 {
		t.Fatalf("%d client actors left after Close", n)
	}
}

func TestConnectByName(t *testing.T) {
	sys := newSystem(t)
	srv := goServer(t, "127.0.0.1:0", echo)
	_, port, _ := net.SplitHostPort(srv)
	c := dial(t, sys, net.JoinHostPort("localhost", port))
	if n, err := c.Send(testCtx(t), []byte("hi")); n != 2 || err != nil {
		t.Fatalf("Send = %d, %v", n, err)
	}
}

func TestEmptyBuffersAnswerAtOnce(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		c := dial(t, sys, goServer(t, addr, echo))
		ctx := testCtx(t)
		if n, err := c.Send(ctx, nil); n != 0 || err != nil {
			t.Fatalf("Send(nil) = %d, %v", n, err)
		}
		if b, err := c.Recv(ctx, 0); len(b) != 0 || err != nil {
			t.Fatalf("Recv(0) = %q, %v", b, err)
		}
		if b, err := c.RecvExact(ctx, 0); len(b) != 0 || err != nil {
			t.Fatalf("RecvExact(0) = %q, %v", b, err)
		}
	})
}

func TestBadSizesAndTimeouts(t *testing.T) {
	sys := newSystem(t)
	c := dial(t, sys, goServer(t, "127.0.0.1:0", echo))
	ctx := testCtx(t)
	checks := map[string]error{}
	_, checks["recv negative"] = c.Recv(ctx, -1)
	_, checks["recv too big"] = c.Recv(ctx, MaxRecv+1)
	_, checks["recvexact negative"] = c.RecvExact(ctx, -5)
	if res, err := c.SendAsync([]byte("x"), -time.Second).Wait(ctx); err == nil {
		checks["send negative timeout"] = res.GetStatus().Err()
	}
	if res, err := c.ConnectAsync("127.0.0.1:1", -time.Second).Wait(ctx); err == nil {
		checks["connect negative timeout"] = res.GetError().Err()
	}
	for name, err := range checks {
		var oe *socket.OpError
		if !errors.Is(err, socket.ErrInvalidArgument) || !errors.As(err, &oe) || oe.Op == "" {
			t.Errorf("%s: %v; want an OpError naming the operation, wrapping ErrInvalidArgument", name, err)
		}
	}
}

func TestPeerClosesAndResets(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		closed := make(chan struct{})
		srv := goServer(t, addr, func(c net.Conn) {
			_, _ = c.Write([]byte("bye"))
			c.(*net.TCPConn).CloseWrite() // half-close: FIN, keep reading
			_, _ = io.Copy(io.Discard, c)
			c.(*net.TCPConn).SetLinger(0)
			c.Close() // RST
			close(closed)
		})
		c := dial(t, sys, srv)
		ctx := testCtx(t)
		data, err := c.RecvExact(ctx, 3)
		if err != nil || string(data) != "bye" {
			t.Fatalf("RecvExact = %q, %v", data, err)
		}
		if data, err := c.Recv(ctx, 10); !errors.Is(err, io.EOF) || len(data) != 0 {
			t.Fatalf("Recv after the peer's FIN = %q, %v; want io.EOF", data, err)
		}
		// Half-closed: we can still send; then shut our side down too.
		if _, err := c.Send(ctx, []byte("still here")); err != nil {
			t.Fatalf("Send after the peer's FIN: %v", err)
		}
		if err := c.Shutdown(ctx, actors.ShutdownWrite); err != nil {
			t.Fatal(err)
		}
		<-closed // the server saw our FIN and reset
		// Writes now fail with a reset (or broken pipe), never hang.
		var err2 error
		for i := 0; i < 100 && err2 == nil; i++ {
			_, err2 = c.Send(ctx, []byte("x"))
		}
		if !errors.Is(err2, syscall.EPIPE) && !errors.Is(err2, syscall.ECONNRESET) {
			t.Fatalf("Send after reset = %v; want EPIPE or ECONNRESET", err2)
		}
		if st, err := c.SocketStats(ctx); err != nil || st.GetErrors() == 0 {
			t.Fatalf("SocketStats after a failed send = %v, %v; want the error counted", st, err)
		}
	})
}

func TestRequestsAfterClose(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		c := dial(t, sys, goServer(t, addr, echo))
		ctx := testCtx(t)
		pending := c.RecvAsync(10, 0)
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
		res, err := pending.Wait(ctx)
		if err != nil || !errors.Is(res.GetStatus().Err(), socket.ErrCancelled) {
			t.Fatalf("Recv pending at Close = %v, %v; want cancelled", res, err)
		}
		if _, err := c.Send(ctx, []byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Send after Close = %v; want net.ErrClosed", err)
		}
		if _, err := c.Recv(ctx, 1); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Recv after Close = %v; want net.ErrClosed", err)
		}
		if err := c.Close(ctx); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("second Close = %v; want net.ErrClosed", err)
		}
	})
}

func TestReadersServedInOrder(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		srv := goServer(t, addr, echo)
		c := dial(t, sys, srv)
		ctx := testCtx(t)
		first := c.RecvExactAsync(5, 0)
		second := c.RecvExactAsync(5, 0)
		if _, err := c.Send(ctx, []byte("aaaaabbbbb")); err != nil {
			t.Fatal(err)
		}
		a, err := first.Wait(ctx)
		if err != nil || string(a.GetData()) != "aaaaa" {
			t.Fatalf("first reader = %q, %v", a.GetData(), err)
		}
		b, err := second.Wait(ctx)
		if err != nil || string(b.GetData()) != "bbbbb" {
			t.Fatalf("second reader = %q, %v", b.GetData(), err)
		}
	})
}

func TestAbortSendsReset(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		got := make(chan error, 1)
		srv := goServer(t, addr, func(c net.Conn) {
			defer c.Close()
			_, err := c.Read(make([]byte, 1))
			got <- err
		})
		c, err := Dial(testCtx(t), sys, srv)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Abort(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-got:
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("server read after Abort = %v; want ECONNRESET", err)
			}
		case <-time.After(testTimeout):
			t.Fatal("server never saw the reset")
		}
	})
}

func TestPollBeforeConnect(t *testing.T) {
	sys := newSystem(t)
	c, err := NewClient(sys)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	st, err := c.Poll(testCtx(t), actors.PollRead)
	if st != messages.PollStatus_POLL_STATUS_ERROR || !errors.Is(err, syscall.ENOTCONN) {
		t.Fatalf("Poll before Connect = %v, %v; want error ENOTCONN", st, err)
	}
}

// TestContextEndWithdrawsRead: a Recv whose context ends is withdrawn from
// the actor, so the data that arrives next goes to the next reader.
func TestContextEndWithdrawsRead(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		send := make(chan string)
		srv := goServer(t, addr, func(c net.Conn) {
			defer c.Close()
			for s := range send {
				c.Write([]byte(s))
			}
		})
		c := dial(t, sys, srv)
		t.Cleanup(func() { close(send) })

		ctx, cancel := context.WithTimeout(testCtx(t), 30*time.Millisecond)
		defer cancel()
		if b, err := c.Recv(ctx, 10); !errors.Is(err, context.DeadlineExceeded) || len(b) != 0 {
			t.Fatalf("Recv = %q, %v; want context.DeadlineExceeded", b, err)
		}
		send <- "next"
		if b, err := c.RecvExact(testCtx(t), 4); err != nil || string(b) != "next" {
			t.Fatalf("the reader after a withdrawn one got %q, %v", b, err)
		}

	})
}

// TestConnectTimeout: a listener whose accept queue is full drops new
// SYNs, so a connect to it waits until its timeout.
func TestConnectTimeout(t *testing.T) {
	t.Parallel() // waits out timeouts or other processes
	for _, lb := range []struct {
		name string
		d    socket.Domain
		addr string
	}{{"ipv4", socket.IPv4, "127.0.0.1:0"}, {"ipv6", socket.IPv6, "[::1]:0"}} {
		t.Run(lb.name, func(t *testing.T) {
			ln, err := socket.Open(lb.d, socket.Stream)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			if err := ln.Bind(netip.MustParseAddrPort(lb.addr)); err != nil {
				t.Fatal(err)
			}
			if err := ln.Listen(1); err != nil { // never accepted from
				t.Fatal(err)
			}
			target, _ := ln.LocalAddr()
			sys := newSystem(t)
			for i := 0; i < 16; i++ {
				c, err := NewClient(sys)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close(context.Background())
				err = c.ConnectAddrPort(within(t, 200*time.Millisecond), target)
				if errors.Is(err, os.ErrDeadlineExceeded) {
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Fatalf("timeout %v is not also context.DeadlineExceeded", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Connect %d = %v", i, err)
				}
			}
			t.Fatal("the full accept queue never made a connect time out")
		})
	}
}

// TestDialUnspecifiedIsThisHost: as with Go's net.Dial, an empty or
// unspecified host means this host, so a listener's own Addr().String()
// ("[::]:port" for one on every interface) can be dialed.
func TestDialUnspecifiedIsThisHost(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	l, err := Listen(ctx, sys, ":0") // every interface, both families
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	port := l.Addr().Port()
	for _, target := range []string{l.Addr().String(), fmt.Sprintf(":%d", port), fmt.Sprintf("0.0.0.0:%d", port), fmt.Sprintf("[::]:%d", port)} {
		c, err := Dial(ctx, sys, target)
		if err != nil {
			t.Fatalf("Dial(%q): %v", target, err)
		}
		s, err := l.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !c.RemoteAddr().Addr().IsLoopback() || s.RemoteAddr() != c.LocalAddr() {
			t.Fatalf("Dial(%q) connected %v -> %v; want loopback, accepted as %v", target, c.LocalAddr(), c.RemoteAddr(), s.RemoteAddr())
		}
		_ = c.Close(ctx)
		_ = s.Close(ctx)
	}
}
