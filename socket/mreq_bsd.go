//go:build darwin || freebsd

package socket

import (
	"net"

	"golang.org/x/sys/unix"
)

// This file names the IPv4 multicast interface the portable BSD way, by one
// of its IPv4 addresses (struct ip_mreq, struct in_addr: macOS takes no
// ip_mreqn), as Go's net does there (src/net/sockoptip_posix.go and
// sockoptip_bsdvar.go). mreq_linux.go is Linux's way, by index.

// setIPv4Membership joins or leaves (opt) group on the interface with
// index ifindex (0: the kernel picks one).
func setIPv4Membership(fd, opt int, group [4]byte, ifindex int) error {
	ifaddr, err := interfaceAddr4(ifindex)
	if err != nil {
		return err
	}
	return unix.SetsockoptIPMreq(fd, unix.IPPROTO_IP, opt, &unix.IPMreq{Multiaddr: group, Interface: ifaddr})
}

// setIPv4MulticastInterface sends IPv4 multicast through the interface
// with index ifindex.
func setIPv4MulticastInterface(fd, ifindex int) error {
	ifaddr, err := interfaceAddr4(ifindex)
	if err != nil {
		return err
	}
	return unix.SetsockoptInet4Addr(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, ifaddr)
}

// interfaceAddr4 returns the first IPv4 address of the interface with
// index ifindex, and INADDR_ANY for 0. No such interface is ENODEV (what
// Linux answers for an unknown index), one without an IPv4 address
// EADDRNOTAVAIL.
func interfaceAddr4(ifindex int) ([4]byte, error) {
	if ifindex == 0 {
		return [4]byte{}, nil
	}
	ifi, err := net.InterfaceByIndex(ifindex)
	if err != nil {
		return [4]byte{}, unix.ENODEV
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return [4]byte{}, err
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ip4 := ipn.IP.To4(); ip4 != nil {
				return [4]byte(ip4), nil
			}
		}
	}
	return [4]byte{}, unix.EADDRNOTAVAIL
}
