package socket

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// This file holds the portable address helpers: parsing "host:port", and
// the address bytes and zone index a sockaddr carries, which each OS file
// puts into (and takes out of) its own sockaddr structures.

// ParseHostPort splits "host:port" as a dial or listen address: the port
// is a number from 0 to 65535, the host an IP literal (ip set), a name
// (ip invalid) or empty. Errors are *AddrError naming what is wrong, as
// Go's net says it ("missing port in address", "invalid port", "invalid
// IP address"). It looks nothing up.
func ParseHostPort(addr string) (host string, ip netip.Addr, port uint16, err error) {
	if addr == "" {
		return "", netip.Addr{}, 0, &AddrError{Addr: addr, Reason: "missing address"}
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return "", netip.Addr{}, 0, &AddrError{Addr: addr, Reason: ae.Err}
		}
		return "", netip.Addr{}, 0, &AddrError{Addr: addr, Reason: err.Error()}
	}
	n, perr := strconv.ParseUint(p, 10, 16)
	if perr != nil {
		return "", netip.Addr{}, 0, &AddrError{Addr: addr, Reason: "invalid port"}
	}
	if a, err := netip.ParseAddr(h); err == nil {
		ip = a
	} else if strings.Trim(h, "0123456789.") == "" && h != "" {
		// All digits and dots, but not an IPv4 address: a bad IP, not a
		// name to look up.
		return "", netip.Addr{}, 0, &AddrError{Addr: addr, Reason: "invalid IP address"}
	}
	return h, ip, uint16(n), nil
}

// ParseLocal parses the local address of a listen or bind: "ip:port", or
// ":port" for every interface (IPv4 and IPv6: the IPv6 unspecified
// address, dual stack). A name is refused (the Go handles resolve names
// before they ask an actor). Errors are *AddrError.
func ParseLocal(addr string) (netip.AddrPort, error) {
	host, ip, port, err := ParseHostPort(addr)
	switch {
	case err != nil:
		return netip.AddrPort{}, err
	case host == "":
		ip = netip.IPv6Unspecified()
	case !ip.IsValid():
		return netip.AddrPort{}, &AddrError{Addr: addr, Reason: "a host name, not an IP address (tcp.Listen and udp.Bind resolve names; a Listen or Bind message takes an IP)"}
	}
	return netip.AddrPortFrom(ip, port), nil
}

// ipv4Bytes returns a as an IPv4 socket holds it: an IPv4-mapped address
// is unmapped; any other IPv6 address (or none) is ErrInvalidAddress.
func ipv4Bytes(a netip.Addr) ([4]byte, error) {
	a = a.Unmap()
	if !a.Is4() {
		return [4]byte{}, ErrInvalidAddress
	}
	return a.As4(), nil
}

// ipv6Bytes returns a as an IPv6 socket holds it: an IPv4 address becomes
// its IPv4-mapped form, and the zone (an interface index or name) becomes
// the interface index (0 for none).
func ipv6Bytes(a netip.Addr) (ip [16]byte, zoneID uint32, err error) {
	if z := a.Zone(); z != "" {
		if zoneID, err = zoneIndex(z); err != nil {
			return [16]byte{}, 0, err
		}
	}
	return a.As16(), zoneID, nil
}

// addrPortFrom16 decodes the address of an IPv6 sockaddr: an IPv4-mapped
// address is unmapped, and a zone index other than 0 becomes the zone.
func addrPortFrom16(ip [16]byte, zoneID uint32, port uint16) netip.AddrPort {
	a := netip.AddrFrom16(ip)
	if a.Is4In6() {
		a = a.Unmap()
	} else if zoneID != 0 {
		a = a.WithZone(strconv.FormatUint(uint64(zoneID), 10))
	}
	return netip.AddrPortFrom(a, port)
}

// zoneIndex turns an IPv6 zone (an interface index or name) into an index.
func zoneIndex(zone string) (uint32, error) {
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n), nil
	}
	ifi, err := net.InterfaceByName(zone)
	if err != nil {
		return 0, ErrInvalidAddress
	}
	return uint32(ifi.Index), nil
}
