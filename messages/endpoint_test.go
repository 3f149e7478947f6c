package messages

import (
	"net/netip"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
)

func protoMarshal(m proto.Message) ([]byte, error)   { return proto.Marshal(m) }
func protoUnmarshal(b []byte, m proto.Message) error { return proto.Unmarshal(b, m) }

func TestEndpointRoundTrip(t *testing.T) {
	for _, s := range []string{"127.0.0.1:80", "[::1]:53", "[fe80::1%eth0]:9", "0.0.0.0:0", "[::ffff:10.1.2.3]:53"} {
		t.Run(s, func(t *testing.T) {
			ap := netip.MustParseAddrPort(s)
			got, err := NewEndpoint(ap).AddrPort()
			if err != nil || got != ap {
				t.Fatalf("round trip = %v, %v; want %v", got, err, ap)
			}
		})
	}
	if got, err := NewEndpoint(netip.AddrPort{}).AddrPort(); err != nil || got.IsValid() {
		t.Fatalf("zero round trip = %v, %v", got, err)
	}
	var nilEndpoint *Endpoint
	if got, err := nilEndpoint.AddrPort(); err != nil || got.IsValid() {
		t.Fatalf("nil Endpoint = %v, %v", got, err)
	}
}

func TestEndpointInvalid(t *testing.T) {
	tests := []struct {
		name string
		e    *Endpoint
	}{
		{name: "5-byte ip", e: &Endpoint{Ip: []byte{1, 2, 3, 4, 5}, Port: 1}},
		{name: "port too big", e: &Endpoint{Ip: []byte{127, 0, 0, 1}, Port: 70000}},
		{name: "port without ip", e: &Endpoint{Port: 80}},
		{name: "zone on ipv4", e: &Endpoint{Ip: []byte{127, 0, 0, 1}, Port: 1, Zone: "eth0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.e.AddrPort(); err == nil {
				t.Fatal("AddrPort accepted an invalid endpoint")
			}
		})
	}
}

func TestRefRoundTrip(t *testing.T) {
	pid := actor.NewPID("node-1:8090", "conn$42")
	if got := NewRef(pid).PID(); !got.Equal(pid) {
		t.Fatalf("round trip = %v; want %v", got, pid)
	}
	var r *Ref
	if r.PID() != nil || NewRef(nil) != nil {
		t.Fatal("nil Ref/PID did not stay nil")
	}
}

// FuzzEndpointDecode: any bytes either fail to decode or decode to an
// Endpoint whose conversion is an error or a valid address that round trips.
func FuzzEndpointDecode(f *testing.F) {
	for _, s := range []string{"127.0.0.1:80", "[::1]:53", "[fe80::1%eth0]:9"} {
		b, _ := proto.Marshal(NewEndpoint(netip.MustParseAddrPort(s)))
		f.Add(b)
	}
	f.Add([]byte{0x0a, 0x05, 1, 2, 3, 4, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Endpoint
		if err := proto.Unmarshal(b, &e); err != nil {
			return
		}
		ap, err := e.AddrPort()
		if err != nil || !ap.IsValid() {
			return
		}
		again, err := NewEndpoint(ap).AddrPort()
		if err != nil || again != ap {
			t.Fatalf("%v round trips to %v, %v", ap, again, err)
		}
	})
}
