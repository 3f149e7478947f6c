package socket

import (
	"errors"
	"net/netip"
	"testing"
)

// The tests in this file use no system call: they run on every OS.

func TestParseHostPort(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		host   string
		ip     string // "" for none (a name, or the empty host)
		port   uint16
		reason string // the AddrError's reason; "" for success
	}{
		{name: "ipv4", in: "127.0.0.1:80", host: "127.0.0.1", ip: "127.0.0.1", port: 80},
		{name: "ipv6", in: "[::1]:443", host: "::1", ip: "::1", port: 443},
		{name: "ipv6 zone", in: "[fe80::1%eth0]:9", host: "fe80::1%eth0", ip: "fe80::1%eth0", port: 9},
		{name: "name", in: "localhost:8080", host: "localhost", port: 8080},
		{name: "every interface", in: ":0", host: "", port: 0},
		{name: "empty", in: "", reason: "missing address"},
		{name: "no port", in: "127.0.0.1", reason: "missing port in address"},
		{name: "port too big", in: "localhost:99999", reason: "invalid port"},
		{name: "port not a number", in: "localhost:http", reason: "invalid port"},
		{name: "bad ipv4", in: "1.2.3.400:80", reason: "invalid IP address"},
		{name: "too many colons", in: "::1:80", reason: "too many colons in address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, ip, port, err := ParseHostPort(tt.in)
			if tt.reason != "" {
				var ae *AddrError
				if !errors.As(err, &ae) || ae.Reason != tt.reason || ae.Addr != tt.in {
					t.Fatalf("ParseHostPort(%q) error = %v; want AddrError %q", tt.in, err, tt.reason)
				}
				if !errors.Is(err, ErrInvalidAddress) || !errors.Is(err, ErrInvalidArgument) {
					t.Fatalf("ParseHostPort(%q) error %v is not ErrInvalidAddress and ErrInvalidArgument", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseHostPort(%q): %v", tt.in, err)
			}
			var want netip.Addr
			if tt.ip != "" {
				want = netip.MustParseAddr(tt.ip)
			}
			if host != tt.host || ip != want || port != tt.port {
				t.Fatalf("ParseHostPort(%q) = %q, %v, %d; want %q, %v, %d", tt.in, host, ip, port, tt.host, want, tt.port)
			}
		})
	}
}

func TestParseLocal(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" for an error
	}{
		{name: "ipv4", in: "127.0.0.1:0", want: "127.0.0.1:0"},
		{name: "ipv6", in: "[::1]:53", want: "[::1]:53"},
		{name: "every interface is dual stack", in: ":7", want: "[::]:7"},
		{name: "a name is refused", in: "localhost:7"},
		{name: "bad port", in: ":65536"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLocal(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalidAddress) {
					t.Fatalf("ParseLocal(%q) = %v, %v; want an invalid-address error", tt.in, got, err)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("ParseLocal(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestSockaddrBytes checks the portable half of every sockaddr conversion:
// the bytes and zone an IPv4 or IPv6 socket holds, and back.
func TestSockaddrBytes(t *testing.T) {
	tests := []struct {
		name string
		in   string
		v4   bool   // an IPv4 socket can hold it
		back string // what decoding the IPv6 form gives
	}{
		{name: "ipv4", in: "127.0.0.1", v4: true, back: "127.0.0.1"},
		{name: "ipv4-mapped", in: "::ffff:10.0.0.1", v4: true, back: "10.0.0.1"},
		{name: "ipv6", in: "2001:db8::1", back: "2001:db8::1"},
		{name: "numeric zone", in: "fe80::1%7", back: "fe80::1%7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := netip.MustParseAddr(tt.in)
			b4, err := ipv4Bytes(a)
			switch {
			case tt.v4 && (err != nil || netip.AddrFrom4(b4) != a.Unmap()):
				t.Fatalf("ipv4Bytes(%v) = %v, %v", a, b4, err)
			case !tt.v4 && !errors.Is(err, ErrInvalidAddress):
				t.Fatalf("ipv4Bytes(%v) = %v; want ErrInvalidAddress", a, err)
			}
			b16, zone, err := ipv6Bytes(a)
			if err != nil {
				t.Fatalf("ipv6Bytes(%v): %v", a, err)
			}
			want := netip.AddrPortFrom(netip.MustParseAddr(tt.back), 9)
			if got := addrPortFrom16(b16, zone, 9); got != want {
				t.Fatalf("addrPortFrom16(ipv6Bytes(%v)) = %v; want %v", a, got, want)
			}
		})
	}
	if _, _, err := ipv6Bytes(netip.MustParseAddr("fe80::1%no-such-interface-here")); !errors.Is(err, ErrInvalidAddress) {
		t.Fatalf("ipv6Bytes with an unknown zone name = %v; want ErrInvalidAddress", err)
	}
}
