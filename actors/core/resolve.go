package core

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"github.com/actornet/actornet/socket"
)

// ResolveLocal resolves the host name of a listen or bind address
// ("localhost:0") with net.DefaultResolver within ctx, to its first
// address. named is false when addr names no host to look up (an IP
// literal, ":port", or something malformed): the socket actor parses it,
// and says what is wrong. A name that does not resolve is a
// *socket.HostError (errors.Is socket.ErrNoSuchHost).
func ResolveLocal(ctx context.Context, addr string) (ap netip.AddrPort, named bool, err error) {
	host, ip, port, err := socket.ParseHostPort(addr)
	if err != nil || host == "" || ip.IsValid() {
		return netip.AddrPort{}, false, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		reason := "no such host"
		var de *net.DNSError
		if errors.As(err, &de) && de.Err != "" {
			reason = de.Err
		}
		return netip.AddrPort{}, true, &socket.HostError{Host: host, Reason: reason}
	}
	return netip.AddrPortFrom(ips[0].Unmap(), port), true, nil
}
