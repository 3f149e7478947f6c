package udp

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/test/testkit"
)

const testTimeout = testkit.Timeout

var (
	forEachFamily = testkit.ForEachFamily
	newSystem     = testkit.System
	testCtx       = testkit.Context
)

func bind(t testing.TB, sys *actors.System, addr string, opts ...Option) *Peer {
	t.Helper()
	p, err := Bind(testCtx(t), sys, addr, opts...)
	if err != nil {
		t.Fatalf("Bind %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

func TestSendOnlyToBound(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		rx := bind(t, sys, addr)
		tx, err := NewPeer(sys)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Close(context.Background())
		ctx := testCtx(t)
		if n, err := tx.SendTo(ctx, rx.LocalAddr(), []byte("hello udp")); n != 9 || err != nil {
			t.Fatalf("SendTo = %d, %v", n, err)
		}
		// The first send opened a socket of the destination's family.
		info, err := tx.Info(ctx)
		if err != nil || info.GetType() != "datagram" {
			t.Fatalf("send-only Info = %v, %v", info, err)
		}
		d, err := recvFrom(ctx, rx, 64)
		if err != nil || string(d.Data) != "hello udp" || d.Length != 9 {
			t.Fatalf("RecvFrom = %+v, %v", d, err)
		}
		if d.From.Addr() != rx.LocalAddr().Addr() || d.From.Port() == 0 {
			t.Fatalf("sender %v; want an address of %v's family on loopback", d.From, rx.LocalAddr())
		}
		// A send-only peer cannot receive.
		if _, _, err := tx.RecvFrom(ctx, 64); !errors.Is(err, socket.ErrUDPNotBound) {
			t.Fatalf("RecvFrom on a send-only peer = %v; want udp_not_bound", err)
		}
	})
}

func TestEchoBetweenBoundPeers(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		a, b := bind(t, sys, addr), bind(t, sys, addr)
		ctx := testCtx(t)
		if _, err := a.SendTo(ctx, b.LocalAddr(), []byte("ping")); err != nil {
			t.Fatal(err)
		}
		d, err := recvFrom(ctx, b, 64)
		if err != nil || d.From != a.LocalAddr() {
			t.Fatalf("b got %+v, %v; want it from exactly %v", d, err, a.LocalAddr())
		}
		if _, err := b.SendTo(ctx, d.From, d.Data); err != nil {
			t.Fatal(err)
		}
		back, err := recvFrom(ctx, a, 64)
		if err != nil || back.From != b.LocalAddr() || string(back.Data) != "ping" {
			t.Fatalf("a got %+v, %v; want ping from exactly %v", back, err, b.LocalAddr())
		}
		st, err := a.SocketStats(ctx)
		if err != nil || st.GetBytesOut() != 4 || st.GetBytesIn() != 4 || st.GetReads() != 1 || st.GetWrites() != 1 {
			t.Fatalf("SocketStats = %v, %v; want one 4-byte datagram each way", st, err)
		}
	})
}

func TestSendEdgeCases(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		p := bind(t, sys, addr)
		ctx := testCtx(t)
		// An empty datagram is a datagram (as in Go's net): sent, and
		// received as one, empty.
		if n, err := p.SendTo(ctx, p.LocalAddr(), nil); n != 0 || err != nil {
			t.Fatalf("empty SendTo = %d, %v; want ok", n, err)
		}
		if d, err := recvFrom(ctx, p, 64); err != nil || len(d.Data) != 0 || d.From.Port() != p.LocalAddr().Port() {
			t.Fatalf("RecvFrom of an empty datagram = %+v, %v; want it, empty", d, err)
		}
		if _, err := p.SendTo(ctx, p.LocalAddr(), make([]byte, MaxDatagram+1)); !errors.Is(err, syscall.EMSGSIZE) {
			t.Fatalf("oversize SendTo = %v; want message_too_big", err)
		}
		if _, err := p.SendTo(ctx, netip.AddrPort{}, []byte("x")); !errors.Is(err, socket.ErrInvalidArgument) {
			t.Fatalf("SendTo no address = %v; want invalid argument", err)
		}
		// Nothing else was sent: a receive times out.
		start := time.Now()
		if _, _, err := p.RecvFrom(within(t, 25*time.Millisecond), 64); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("RecvFrom = %v; want a timeout", err)
		}
		if time.Since(start) < 25*time.Millisecond {
			t.Fatal("timed out before 25 ms")
		}
		if _, _, err := p.RecvFrom(ctx, 0); !errors.Is(err, socket.ErrInvalidArgument) {
			t.Fatalf("RecvFrom max 0 = %v; want invalid argument", err)
		}
	})
}

func TestTruncationReported(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		p := bind(t, sys, addr)
		ctx := testCtx(t)
		payload := bytes.Repeat([]byte("0123456789"), 10)
		if _, err := p.SendTo(ctx, p.LocalAddr(), payload); err != nil {
			t.Fatal(err)
		}
		d, err := recvFrom(ctx, p, 10)
		if !errors.Is(err, socket.ErrTruncated) || d.Length != 100 || !bytes.Equal(d.Data, payload[:10]) {
			t.Fatalf("RecvFrom(10) of 100 bytes = %+v, %v; want truncated with length 100", d, err)
		}
	})
}

func TestConnectedModeRefused(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		ctx := testCtx(t)
		// A port that was just bound and closed: nothing listens there.
		dead := bind(t, sys, addr)
		target := dead.LocalAddr()
		if err := dead.Close(ctx); err != nil {
			t.Fatal(err)
		}
		p := bind(t, sys, addr)
		if err := p.ConnectAddrPort(ctx, target); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Send(ctx, []byte("anyone?")); err != nil {
			t.Fatal(err)
		}
		// The ICMP port-unreachable comes back as connection_refused.
		if _, err := p.Recv(ctx, 64); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("Recv after sending to a closed port = %v; want connection_refused", err)
		}
	})
}

func TestConnectedModeExchange(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		ctx := testCtx(t)
		a, b := bind(t, sys, addr), bind(t, sys, addr)
		if err := a.ConnectAddrPort(ctx, b.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Send(ctx, []byte("over")); err != nil {
			t.Fatal(err)
		}
		d, err := recvFrom(ctx, b, 16)
		if err != nil || string(d.Data) != "over" {
			t.Fatalf("%+v, %v", d, err)
		}
		b.SendTo(ctx, d.From, []byte("out"))
		got, err := a.Recv(ctx, 16)
		if err != nil || string(got) != "out" {
			t.Fatalf("Recv = %q, %v", got, err)
		}
		// Send without Connect is refused.
		if _, err := b.Send(ctx, []byte("x")); !errors.Is(err, syscall.EDESTADDRREQ) {
			t.Fatalf("Send on an unconnected peer = %v; want EDESTADDRREQ", err)
		}
	})
}

func TestRequestsAfterClose(t *testing.T) {
	sys := newSystem(t)
	p := bind(t, sys, "127.0.0.1:0")
	ctx := testCtx(t)
	pending := p.RecvFromAsync(64, 0)
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := pending.Wait(ctx)
	if err != nil || !errors.Is(res.GetStatus().Err(), socket.ErrCancelled) {
		t.Fatalf("RecvFrom pending at Close = %v, %v; want cancelled", res, err)
	}
	if _, err := p.SendTo(ctx, p.LocalAddr(), []byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("SendTo after Close = %v; want net.ErrClosed", err)
	}
	if _, _, err := p.RecvFrom(ctx, 8); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("RecvFrom after Close = %v; want net.ErrClosed", err)
	}
}

func TestBindErrors(t *testing.T) {
	sys := newSystem(t)
	busy := bind(t, sys, "127.0.0.1:0")
	for _, tt := range []struct {
		name, addr string
		want       error
	}{
		{name: "in use", addr: busy.LocalAddr().String(), want: syscall.EADDRINUSE},
		{name: "garbage", addr: "nonsense", want: socket.ErrInvalidArgument},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Bind(testCtx(t), sys, tt.addr); !errors.Is(err, tt.want) {
				t.Fatalf("Bind(%q) = %v; want %v", tt.addr, err, tt.want)
			}
		})
	}
}

func TestPacketConnWithGoUDPConn(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		pc := NewNetPacketConn(bind(t, sys, addr))
		defer pc.Close()
		gc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
		if err != nil {
			t.Fatal(err)
		}
		defer gc.Close()
		if _, err := gc.WriteTo([]byte("from go"), pc.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := pc.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "from go" || from.String() != gc.LocalAddr().String() {
			t.Fatalf("ReadFrom = %q from %v, %v", buf[:n], from, err)
		}
		if _, err := pc.WriteTo([]byte("from actor"), from); err != nil {
			t.Fatal(err)
		}
		gc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from2, err := gc.ReadFromUDP(buf)
		if err != nil || string(buf[:n]) != "from actor" || from2.String() != pc.LocalAddr().String() {
			t.Fatalf("Go side got %q from %v, %v", buf[:n], from2, err)
		}
		// Deadlines: a read with nothing to read times out as a net.Error.
		pc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		var ne net.Error
		if _, _, err := pc.ReadFrom(buf); !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("ReadFrom past the deadline = %v; want a timeout", err)
		}
		if err := pc.Close(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := pc.ReadFrom(buf); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadFrom after Close = %v", err)
		}
	})
}

// TestBindAddresses: ":0" binds every interface (as tcp.Listen does), and
// a bad address is refused naming the address and the reason.
func TestBindAddresses(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	p, err := Bind(ctx, sys, ":0")
	if err != nil {
		t.Fatalf("Bind(:0): %v", err)
	}
	defer p.Close(ctx)
	c := bind(t, sys, "127.0.0.1:0")
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), p.LocalAddr().Port())
	if _, err := c.SendTo(ctx, to, []byte("v4 to every interface")); err != nil {
		t.Fatal(err)
	}
	if d, err := recvFrom(ctx, p, 64); err != nil || string(d.Data) != "v4 to every interface" {
		t.Fatalf("RecvFrom on :0 = %v, %v", d, err)
	}
	for addr, text := range map[string]string{
		"127.0.0.1":   "address 127.0.0.1: missing port in address",
		"[::1]:abc":   "address [::1]:abc: invalid port",
		"999.1.1.1:1": "address 999.1.1.1:1: invalid IP address",
		"":            "bind udp: missing address",
	} {
		if _, err := Bind(ctx, sys, addr); !errors.Is(err, socket.ErrInvalidAddress) || !strings.Contains(err.Error(), text) {
			t.Errorf("Bind(%q) = %v; want an invalid address saying %q", addr, err, text)
		}
	}
}

// TestBindNames: a host name is resolved as tcp.Listen resolves it, and one
// that does not resolve is a lookup error, not an invalid address.
func TestBindNames(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	p, err := Bind(ctx, sys, "localhost:0")
	if err != nil {
		t.Fatalf("Bind(localhost:0): %v", err)
	}
	defer p.Close(ctx)
	if !p.LocalAddr().Addr().IsLoopback() {
		t.Fatalf("Bind(localhost:0) bound %v; want a loopback address", p.LocalAddr())
	}
	_, err = Bind(ctx, sys, "nonexistent.invalid:0")
	if !errors.Is(err, socket.ErrNoSuchHost) || errors.Is(err, socket.ErrInvalidAddress) || !strings.Contains(err.Error(), "bind udp: lookup nonexistent.invalid") {
		t.Fatalf("Bind(nonexistent.invalid:0) = %v; want a lookup error", err)
	}
}
