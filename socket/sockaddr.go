package socket

import (
	"net"
	"net/netip"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

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
		addr = addr.Unmap()
		if !addr.Is4() {
			return nil, ErrInvalidAddress
		}
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: addr.As4()}, nil
	case IPv6:
		sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: addr.As16()}
		if z := addr.Zone(); z != "" {
			id, err := zoneIndex(z)
			if err != nil {
				return nil, err
			}
			sa.ZoneId = id
		}
		return sa, nil
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
		a := netip.AddrFrom16(sa.Addr)
		if a.Is4In6() {
			a = a.Unmap()
		} else if sa.ZoneId != 0 {
			a = a.WithZone(strconv.FormatUint(uint64(sa.ZoneId), 10))
		}
		return netip.AddrPortFrom(a, uint16(sa.Port))
	}
	return netip.AddrPort{}
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

// rawSockaddr fills rsa from ap for domain d without allocating, for the
// sendto hot path. It returns the length to pass to the kernel.
func rawSockaddr(d Domain, ap netip.AddrPort, rsa *unix.RawSockaddrAny) (uint32, error) {
	addr := ap.Addr()
	switch d {
	case IPv4:
		addr = addr.Unmap()
		if !addr.Is4() {
			return 0, ErrInvalidAddress
		}
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		sa.Family = unix.AF_INET
		sa.Port = htons(ap.Port())
		sa.Addr = addr.As4()
		return unix.SizeofSockaddrInet4, nil
	case IPv6:
		if !addr.IsValid() {
			return 0, ErrInvalidAddress
		}
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		sa.Family = unix.AF_INET6
		sa.Port = htons(ap.Port())
		sa.Addr = addr.As16()
		sa.Flowinfo = 0
		sa.Scope_id = 0
		if z := addr.Zone(); z != "" {
			id, err := zoneIndex(z)
			if err != nil {
				return 0, err
			}
			sa.Scope_id = id
		}
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
		a := netip.AddrFrom16(sa.Addr)
		if a.Is4In6() {
			a = a.Unmap()
		} else if sa.Scope_id != 0 {
			a = a.WithZone(strconv.FormatUint(uint64(sa.Scope_id), 10))
		}
		return netip.AddrPortFrom(a, ntohs(sa.Port))
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
