package socket

import "golang.org/x/sys/unix"

// This file names the IPv4 multicast interface the Linux way, by its index
// (struct ip_mreqn). mreq_bsd.go is the way of macOS and FreeBSD.

// setIPv4Membership joins or leaves (opt) group on the interface with
// index ifindex (0: the kernel picks one).
func setIPv4Membership(fd, opt int, group [4]byte, ifindex int) error {
	mreq := &unix.IPMreqn{Multiaddr: group, Ifindex: int32(ifindex)}
	return unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, opt, mreq)
}

// setIPv4MulticastInterface sends IPv4 multicast through the interface
// with index ifindex.
func setIPv4MulticastInterface(fd, ifindex int) error {
	mreq := &unix.IPMreqn{Ifindex: int32(ifindex)}
	return unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, mreq)
}
