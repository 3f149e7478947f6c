package socket

import "net/netip"

// This file is the portable vocabulary of a socket: its domain, its type
// and the directions Shutdown closes. It builds on every OS, so that the
// messages package (and a node on macOS or Windows) can use it; the Socket
// itself and its system calls live in the *_linux.go files beside it.

// Domain is a socket's address family.
type Domain int

const (
	// IPv4 is AF_INET.
	IPv4 Domain = iota + 1
	// IPv6 is AF_INET6.
	IPv6
	// Unix is AF_UNIX: socket pairs, and sockets bound to or connected to
	// a path (BindUnix, ConnectUnix).
	Unix
)

// unspecified is the domain's any-address, which a bind with no address
// uses.
func (d Domain) unspecified() netip.Addr {
	if d == IPv6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

// String returns "ipv4", "ipv6" or "unix".
func (d Domain) String() string {
	switch d {
	case IPv4:
		return "ipv4"
	case IPv6:
		return "ipv6"
	case Unix:
		return "unix"
	}
	return "domain(?)"
}

// DomainOf returns the domain an address belongs to: IPv4 for IPv4 and
// IPv4-mapped addresses, IPv6 for the rest.
func DomainOf(a netip.Addr) Domain {
	if a.Unmap().Is4() {
		return IPv4
	}
	return IPv6
}

// Type is a socket's type.
type Type int

const (
	// Stream is SOCK_STREAM (TCP).
	Stream Type = iota + 1
	// Datagram is SOCK_DGRAM (UDP).
	Datagram
)

// String returns "stream" or "datagram".
func (t Type) String() string {
	if t == Datagram {
		return "datagram"
	}
	return "stream"
}

// How selects the direction(s) Shutdown closes. Its values are those of
// SHUT_RD, SHUT_WR and SHUT_RDWR on Linux and the BSDs (and of SD_RECEIVE,
// SD_SEND and SD_BOTH on Windows); each OS file maps them to its own
// constants rather than relying on that.
type How int

const (
	// Read shuts down reception (SHUT_RD).
	Read How = 0
	// Write shuts down transmission, sending FIN on TCP (SHUT_WR).
	Write How = 1
	// Both shuts down both directions (SHUT_RDWR).
	Both How = 2
)

// netName names the network of a domain and type as Go does: "tcp4",
// "tcp6", "udp4", "udp6", "unix" (stream), "unixgram" (datagram).
func netName(d Domain, t Type) string {
	switch {
	case d == Unix && t == Datagram:
		return "unixgram"
	case d == Unix:
		return "unix"
	case t == Stream && d == IPv4:
		return "tcp4"
	case t == Stream:
		return "tcp6"
	case d == IPv4:
		return "udp4"
	}
	return "udp6"
}
