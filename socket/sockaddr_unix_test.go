//go:build linux || darwin || freebsd

package socket

import (
	"net/netip"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSockaddrConversions(t *testing.T) {
	tests := []struct {
		name string
		d    Domain
		in   string
		want string
	}{
		{name: "ipv4", d: IPv4, in: "127.0.0.1:80", want: "127.0.0.1:80"},
		{name: "mapped on ipv4", d: IPv4, in: "[::ffff:127.0.0.1]:80", want: "127.0.0.1:80"},
		{name: "ipv6", d: IPv6, in: "[::1]:53", want: "[::1]:53"},
		{name: "ipv4 on ipv6 maps", d: IPv6, in: "127.0.0.1:53", want: "127.0.0.1:53"},
		{name: "numeric zone", d: IPv6, in: "[fe80::1%7]:9", want: "[fe80::1%7]:9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sa, err := Sockaddr(tt.d, netip.MustParseAddrPort(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := AddrPort(sa).String(); got != tt.want {
				t.Fatalf("round trip = %s; want %s", got, tt.want)
			}
		})
	}
}

// FuzzAddrPortRoundTrip: every address and port survives both conversions
// (the unix.Sockaddr one for setup calls and the raw one of the data path)
// in every domain that can hold it.
func FuzzAddrPortRoundTrip(f *testing.F) {
	f.Add([]byte{127, 0, 0, 1}, uint16(80), uint32(0))
	f.Add(netip.IPv6Loopback().AsSlice(), uint16(443), uint32(0))
	f.Add(netip.MustParseAddr("fe80::1").AsSlice(), uint16(9), uint32(3))
	f.Add(netip.MustParseAddr("::ffff:10.0.0.1").AsSlice(), uint16(0), uint32(0))
	f.Fuzz(func(t *testing.T, ip []byte, port uint16, zone uint32) {
		addr, ok := netip.AddrFromSlice(ip)
		if !ok {
			return
		}
		if zone != 0 && addr.Is6() && !addr.Is4In6() {
			addr = addr.WithZone(strconv.FormatUint(uint64(zone), 10))
		}
		ap := netip.AddrPortFrom(addr, port)
		want := netip.AddrPortFrom(addr.Unmap(), port)
		for _, d := range []Domain{IPv4, IPv6} {
			if d == IPv4 && !addr.Unmap().Is4() {
				if _, err := Sockaddr(d, ap); err == nil {
					t.Fatalf("Sockaddr(ipv4, %v) accepted an IPv6 address", ap)
				}
				continue
			}
			sa, err := Sockaddr(d, ap)
			if err != nil {
				t.Fatalf("Sockaddr(%v, %v): %v", d, ap, err)
			}
			if got := AddrPort(sa); got != want {
				t.Fatalf("Sockaddr round trip of %v in %v = %v; want %v", ap, d, got, want)
			}
			var rsa unix.RawSockaddrAny
			if _, err := rawSockaddr(d, ap, &rsa); err != nil {
				t.Fatalf("rawSockaddr(%v, %v): %v", d, ap, err)
			}
			if got := addrPortFromRaw(&rsa); got != want {
				t.Fatalf("raw round trip of %v in %v = %v; want %v", ap, d, got, want)
			}
		}
	})
}
