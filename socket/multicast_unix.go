//go:build linux || darwin || freebsd

package socket

import (
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// JoinGroup joins the multicast group on the interface with index ifindex
// (0: the kernel picks one).
func (s *Socket) JoinGroup(group netip.Addr, ifindex int) error {
	return s.membership("join", group, ifindex, unix.IP_ADD_MEMBERSHIP, unix.IPV6_JOIN_GROUP)
}

// LeaveGroup leaves a multicast group joined with JoinGroup.
func (s *Socket) LeaveGroup(group netip.Addr, ifindex int) error {
	return s.membership("leave", group, ifindex, unix.IP_DROP_MEMBERSHIP, unix.IPV6_LEAVE_GROUP)
}

func (s *Socket) membership(op string, group netip.Addr, ifindex, opt4, opt6 int) error {
	if s.fd < 0 {
		return s.opError(op, net.ErrClosed)
	}
	if !group.IsMulticast() || ifindex < 0 {
		return s.addrError(op, netip.AddrPortFrom(group, 0), ErrInvalidAddress)
	}
	var err error
	switch {
	case s.domain == IPv4 && group.Is4():
		err = setIPv4Membership(s.fd, opt4, group.As4(), ifindex)
	case s.domain == IPv6 && group.Is6():
		mreq := &unix.IPv6Mreq{Multiaddr: group.As16(), Interface: uint32(ifindex)}
		err = unix.SetsockoptIPv6Mreq(s.fd, unix.IPPROTO_IPV6, opt6, mreq)
	default:
		err = ErrInvalidAddress
	}
	if err != nil {
		return s.addrError(op, netip.AddrPortFrom(group, 0), err)
	}
	return nil
}

// SetMulticastInterface sends multicast through the interface with index
// ifindex.
func (s *Socket) SetMulticastInterface(ifindex int) error {
	if s.domain == IPv6 {
		return s.setInt("setsockopt IPV6_MULTICAST_IF", unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, ifindex)
	}
	if s.fd < 0 {
		return s.opError("setsockopt IP_MULTICAST_IF", net.ErrClosed)
	}
	if err := setIPv4MulticastInterface(s.fd, ifindex); err != nil {
		return s.opError("setsockopt IP_MULTICAST_IF", err)
	}
	return nil
}

// SetMulticastTTL sets the TTL (hop limit) of outgoing multicast.
func (s *Socket) SetMulticastTTL(ttl int) error {
	if ttl < 0 || ttl > 255 {
		return s.opError("setsockopt multicast ttl", ErrInvalidArgument)
	}
	if s.domain == IPv6 {
		return s.setInt("setsockopt IPV6_MULTICAST_HOPS", unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, ttl)
	}
	return s.setInt("setsockopt IP_MULTICAST_TTL", unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, ttl)
}

// SetMulticastLoopback sets whether this host's own members receive the
// socket's multicast.
func (s *Socket) SetMulticastLoopback(on bool) error {
	if s.domain == IPv6 {
		return s.setInt("setsockopt IPV6_MULTICAST_LOOP", unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, boolInt(on))
	}
	return s.setInt("setsockopt IP_MULTICAST_LOOP", unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, boolInt(on))
}
