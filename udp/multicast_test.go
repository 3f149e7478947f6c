package udp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"

	"github.com/actornet/actornet/socket"
)

// TestMulticastOnLoopback joins a group on the loopback interface and
// sends to it with multicast loopback on. Where the loopback interface
// cannot carry multicast here, the test says so and skips.
func TestMulticastOnLoopback(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skipf("no loopback interface named lo: %v", err)
	}
	for _, tc := range []struct{ name, group, sender string }{
		{name: "ipv4", group: "239.255.42.99", sender: "127.0.0.1:0"},
		{name: "ipv6", group: "ff02::4242", sender: "[::1]:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := newSystem(t)
			ctx := testCtx(t)
			group := netip.MustParseAddr(tc.group)
			// The receiver binds the group address itself (never a wildcard):
			// it gets that group's traffic only, joined on lo only.
			rxAddr := netip.AddrPortFrom(group.WithZone(zoneFor(group, lo)), 0)
			rx, err := Bind(ctx, sys, rxAddr.String(), WithReuseAddr(true))
			if err != nil {
				t.Skipf("cannot bind the group address %v here: %v", rxAddr, err)
			}
			defer rx.Close(context.Background())
			if err := rx.JoinGroup(ctx, group, "lo", 1, true); err != nil {
				t.Skipf("cannot join %v on lo here: %v", group, err)
			}
			if err := rx.JoinGroup(ctx, netip.MustParseAddr("127.0.0.1"), "lo", 1, true); !errors.Is(err, socket.ErrInvalidArgument) {
				t.Fatalf("JoinGroup with a unicast address = %v; want invalid", err)
			}
			tx := bind(t, sys, tc.sender)
			if err := tx.JoinGroup(ctx, group, "lo", 1, true); err != nil {
				t.Skipf("cannot set multicast options on lo: %v", err)
			}
			dst := netip.AddrPortFrom(group.WithZone(zoneFor(group, lo)), rx.LocalAddr().Port())
			if _, err := tx.SendTo(ctx, dst, []byte("to the group")); err != nil {
				if errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EADDRNOTAVAIL) {
					t.Skipf("lo does not route multicast here: %v", err)
				}
				t.Fatal(err)
			}
			d, err := recvFrom(ctx, rx, 64)
			if err != nil {
				t.Skipf("no multicast delivery on lo here (%v): membership and options were set", err)
			}
			if string(d.Data) != "to the group" {
				t.Fatalf("got %q", d.Data)
			}
			if err := rx.LeaveGroup(context.Background(), group, "lo"); err != nil {
				t.Fatalf("LeaveGroup: %v", err)
			}
		})
	}
}

// zoneFor gives link-local IPv6 multicast its interface zone.
func zoneFor(group netip.Addr, ifi *net.Interface) string {
	if group.Is6() && group.IsLinkLocalMulticast() {
		return ifi.Name
	}
	return ""
}

// TestBroadcastOption: sending to the loopback net's broadcast address
// needs SO_BROADCAST; with it, a receiver bound to that address gets the
// datagram.
func TestBroadcastOption(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	rx, err := Bind(ctx, sys, "127.255.255.255:0")
	if err != nil {
		t.Skipf("cannot bind the loopback broadcast address here: %v", err)
	}
	defer rx.Close(context.Background())
	dst := rx.LocalAddr()
	plain := bind(t, sys, "127.0.0.1:0")
	if _, err := plain.SendTo(ctx, dst, []byte("x")); !errors.Is(err, syscall.EACCES) {
		t.Fatalf("broadcast without SO_BROADCAST = %v; want EACCES", err)
	}
	caster := bind(t, sys, "127.0.0.1:0", WithBroadcast(true))
	if _, err := caster.SendTo(ctx, dst, []byte("to all")); err != nil {
		t.Fatalf("broadcast with SO_BROADCAST: %v", err)
	}
	d, err := recvFrom(ctx, rx, 16)
	if err != nil || string(d.Data) != "to all" || d.From != caster.LocalAddr() {
		t.Fatalf("broadcast receiver got %+v, %v", d, err)
	}
}
