package socket

import (
	"net/netip"
	"testing"
)

// The tests in this file use no system call: they run on every OS.

func TestDomainOf(t *testing.T) {
	for in, want := range map[string]Domain{"127.0.0.1": IPv4, "::ffff:127.0.0.1": IPv4, "::1": IPv6, "fe80::1%7": IPv6} {
		if got := DomainOf(netip.MustParseAddr(in)); got != want {
			t.Errorf("DomainOf(%s) = %v; want %v", in, got, want)
		}
	}
}

func TestDomainUnspecified(t *testing.T) {
	for d, want := range map[Domain]netip.Addr{IPv4: netip.IPv4Unspecified(), IPv6: netip.IPv6Unspecified()} {
		if got := d.unspecified(); got != want {
			t.Errorf("%v.unspecified() = %v; want %v", d, got, want)
		}
	}
}

func TestNetNames(t *testing.T) {
	tests := []struct {
		d    Domain
		t    Type
		want string
	}{
		{d: IPv4, t: Stream, want: "tcp4"},
		{d: IPv6, t: Stream, want: "tcp6"},
		{d: IPv4, t: Datagram, want: "udp4"},
		{d: IPv6, t: Datagram, want: "udp6"},
		{d: Unix, t: Stream, want: "unix"},
		{d: Unix, t: Datagram, want: "unixgram"},
	}
	for _, tt := range tests {
		t.Run(tt.want+"/"+tt.d.String()+"/"+tt.t.String(), func(t *testing.T) {
			if got := netName(tt.d, tt.t); got != tt.want {
				t.Fatalf("netName(%v, %v) = %q; want %q", tt.d, tt.t, got, tt.want)
			}
		})
	}
}
