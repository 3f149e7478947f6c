package messages

import (
	"fmt"
	"net/netip"

	"github.com/asynkron/protoactor-go/actor"
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

// AddrPort converts e back to a netip.AddrPort. A nil Endpoint or one with
// no ip gives the zero value and no error; an ip that is neither 4 nor 16
// bytes, or a port above 65535, is an error.
func (e *Endpoint) AddrPort() (netip.AddrPort, error) {
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
