//go:build linux || darwin || freebsd

package socket

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file converts between netip.AddrPort and the sockaddrs of Linux,
// macOS and FreeBSD: the unix.Sockaddr of the setup calls and the raw
// sockaddr of the data path. The address bytes and zone index come from
// the portable helpers in address.go. (The BSDs' sa_len is left 0: their
// kernels set it from the length passed with the address.)

// Sockaddr converts ap to the sockaddr of domain d. On an IPv6 socket an
// IPv4 address becomes its IPv4-mapped form; on an IPv4 socket an IPv6
// address that is not IPv4-mapped is ErrInvalidAddress.
func Sockaddr(d Domain, ap netip.AddrPort) (unix.Sockaddr, error) {
	addr := ap.Addr()
	if !addr.IsValid() {
		addr = d.unspecified()
	}
	switch d {
	case IPv4:
		ip, err := ipv4Bytes(addr)
		if err != nil {
			return nil, err
		}
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ip}, nil
	case IPv6:
		ip, zone, err := ipv6Bytes(addr)
		if err != nil {
			return nil, err
		}
		return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ip, ZoneId: zone}, nil
	}
	return nil, ErrInvalidAddress
}

// AddrPort converts a sockaddr to an address and port. IPv4-mapped IPv6
// addresses are unmapped; anything but an IP sockaddr is the zero value.
func AddrPort(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return addrPortFrom16(sa.Addr, sa.ZoneId, uint16(sa.Port))
	}
	return netip.AddrPort{}
}

// rawSockaddr fills rsa from ap for domain d without allocating, for the
// sendto hot path. It returns the length to pass to the kernel.
func rawSockaddr(d Domain, ap netip.AddrPort, rsa *unix.RawSockaddrAny) (uint32, error) {
	addr := ap.Addr()
	switch d {
	case IPv4:
		ip, err := ipv4Bytes(addr)
		if err != nil {
			return 0, err
		}
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		sa.Family = unix.AF_INET
		sa.Port = htons(ap.Port())
		sa.Addr = ip
		return unix.SizeofSockaddrInet4, nil
	case IPv6:
		if !addr.IsValid() {
			return 0, ErrInvalidAddress
		}
		ip, zone, err := ipv6Bytes(addr)
		if err != nil {
			return 0, err
		}
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		sa.Family = unix.AF_INET6
		sa.Port = htons(ap.Port())
		sa.Addr = ip
		sa.Flowinfo = 0
		sa.Scope_id = zone
		return unix.SizeofSockaddrInet6, nil
	}
	return 0, ErrInvalidAddress
}

// addrPortFromRaw decodes a raw sockaddr filled in by the kernel.
func addrPortFromRaw(rsa *unix.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), ntohs(sa.Port))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		return addrPortFrom16(sa.Addr, sa.Scope_id, ntohs(sa.Port))
	}
	return netip.AddrPort{}
}

// htons and ntohs convert a port to and from network byte order as it sits
// in memory on a little- or big-endian host.
func htons(p uint16) uint16 {
	b := [2]byte{byte(p >> 8), byte(p)}
	return *(*uint16)(unsafe.Pointer(&b))
}

func ntohs(p uint16) uint16 {
	b := *(*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}
