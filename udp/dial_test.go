package udp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/actornet/actornet/socket"
)

// TestDial: Dial connects a new peer to an address written as Go's
// net.Dial takes it (an IP, a name, an unspecified host meaning this
// host), and Send and Recv then need no address.
func TestDial(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		srv := bind(t, sys, addr)
		port := srv.LocalAddr().Port()
		unspecified := "0.0.0.0"
		if srv.LocalAddr().Addr().Is6() {
			unspecified = "[::]"
		}
		for _, target := range []string{srv.LocalAddr().String(), fmt.Sprintf("%s:%d", unspecified, port)} {
			t.Run(target, func(t *testing.T) {
				ctx := testCtx(t)
				c, err := Dial(ctx, sys, target)
				if err != nil {
					t.Fatalf("Dial(%q): %v", target, err)
				}
				defer c.Close(context.Background())
				if c.RemoteAddr() != srv.LocalAddr() || !c.LocalAddr().IsValid() {
					t.Fatalf("addresses %v -> %v; want a local address and %v", c.LocalAddr(), c.RemoteAddr(), srv.LocalAddr())
				}
				if _, err := c.Send(ctx, []byte("ping")); err != nil {
					t.Fatal(err)
				}
				data, from, err := srv.RecvFrom(ctx, 16)
				if err != nil || string(data) != "ping" || from != c.LocalAddr() {
					t.Fatalf("RecvFrom = %q from %v, %v; want ping from %v", data, from, err, c.LocalAddr())
				}
				if _, err := srv.SendTo(ctx, from, []byte("pong")); err != nil {
					t.Fatal(err)
				}
				if got, err := c.Recv(ctx, 16); err != nil || string(got) != "pong" {
					t.Fatalf("Recv = %q, %v", got, err)
				}
			})
		}
	})
}

func TestDialErrors(t *testing.T) {
	sys := newSystem(t)
	tests := []struct {
		addr string
		is   error
		text string
	}{
		{addr: "127.0.0.1", is: socket.ErrInvalidAddress, text: "missing port"},
		{addr: "127.0.0.1:0", is: socket.ErrInvalidAddress, text: "port 0"},
		{addr: "no-such-host.invalid:53", is: socket.ErrNoSuchHost, text: "no-such-host.invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			_, err := Dial(testCtx(t), sys, tt.addr)
			var oe *socket.OpError
			if !errors.Is(err, tt.is) || !errors.As(err, &oe) || oe.Op != "connect" || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("Dial(%q) = %v; want a connect error wrapping %v, saying %q", tt.addr, err, tt.is, tt.text)
			}
		})
	}
	if n := sys.Sockets(); n != 0 {
		t.Fatalf("%d peers left open by failed Dials", n)
	}
}
