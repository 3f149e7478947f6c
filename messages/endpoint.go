package messages

import (
	"fmt"
	"net/netip"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/socket"
)

// NewEndpoint returns the wire form of ap; the zero AddrPort gives an
// Endpoint with no ip.
func NewEndpoint(ap netip.AddrPort) *Endpoint {
	e := &Endpoint{Port: uint32(ap.Port())}
	if a := ap.Addr(); a.IsValid() {
		e.Ip = a.AsSlice()
		e.Zone = a.Zone()
	}
	return e
}

// NewUnixEndpoint returns the wire form of a Unix-domain socket path.
func NewUnixEndpoint(path string) *Endpoint { return &Endpoint{Path: path} }

// NewCredentials returns the wire form of a peer's credentials.
func NewCredentials(c socket.Cred) *Credentials {
	return &Credentials{Pid: int32(c.PID), Uid: uint32(c.UID), Gid: uint32(c.GID)}
}

// Cred converts c back; ok is false for nil (no credentials: not a
// Unix-domain socket).
func (c *Credentials) Cred() (cred socket.Cred, ok bool) {
	if c == nil {
		return socket.Cred{}, false
	}
	return socket.Cred{PID: int(c.Pid), UID: int(c.Uid), GID: int(c.Gid)}, true
}

// IsUnix reports whether e names a Unix-domain socket (it has a path).
func (e *Endpoint) IsUnix() bool { return e != nil && e.Path != "" }

// Address formats e as an address: "127.0.0.1:80", "[::1]:80", or
// "unix:/run/app.sock"; "" for nil or an empty endpoint.
func (e *Endpoint) Address() string {
	if e.IsUnix() {
		return socket.UnixPrefix + e.Path
	}
	ap, err := e.AddrPort()
	if err != nil || !ap.IsValid() {
		return ""
	}
	return ap.String()
}

// AddrPort converts e back to a netip.AddrPort. A nil Endpoint or one with
// no ip gives the zero value and no error; an ip that is neither 4 nor 16
// bytes, or a port above 65535, is an error. A Unix endpoint (a path) gives
// the zero value, and an error if it also has an ip, port or zone.
func (e *Endpoint) AddrPort() (netip.AddrPort, error) {
	if e.IsUnix() {
		if len(e.Ip) != 0 || e.Port != 0 || e.Zone != "" {
			return netip.AddrPort{}, fmt.Errorf("endpoint: Unix path %q with an ip, port or zone", e.Path)
		}
		return netip.AddrPort{}, nil
	}
	if e == nil || len(e.Ip) == 0 {
		if e != nil && e.Port != 0 {
			return netip.AddrPort{}, fmt.Errorf("endpoint: port %d without an ip", e.Port)
		}
		return netip.AddrPort{}, nil
	}
	if e.Port > 0xffff {
		return netip.AddrPort{}, fmt.Errorf("endpoint: port %d out of range", e.Port)
	}
	a, ok := netip.AddrFromSlice(e.Ip)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("endpoint: ip of %d bytes", len(e.Ip))
	}
	if e.Zone != "" {
		if !a.Is6() {
			return netip.AddrPort{}, fmt.Errorf("endpoint: zone %q on an IPv4 address", e.Zone)
		}
		a = a.WithZone(e.Zone)
	}
	return netip.AddrPortFrom(a, uint16(e.Port)), nil
}

// NewRef returns the wire form of a PID.
func NewRef(pid *actor.PID) *Ref {
	if pid == nil {
		return nil
	}
	return &Ref{Address: pid.Address, Id: pid.Id}
}

// PID converts r back to a PID; nil for a nil Ref.
func (r *Ref) PID() *actor.PID {
	if r == nil {
		return nil
	}
	return actor.NewPID(r.Address, r.Id)
}
