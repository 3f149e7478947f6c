package tcp

import (
	"net/netip"
	"testing"

	"github.com/actornet/actornet/messages"
)

// FuzzListenAddress: whatever address a Listen carries (a "host:port"
// string or an Endpoint's raw bytes), parsing it never panics, and an
// address it accepts is valid and prints back to itself.
func FuzzListenAddress(f *testing.F) {
	for _, s := range []string{"127.0.0.1:0", "[::1]:80", ":7000", "[::ffff:127.0.0.1]:1", "", ":", "[::1]", "1.2.3.4:65536", "[fe80::1%lo]:9"} {
		f.Add(s, []byte(nil), uint32(0))
	}
	f.Add("", []byte{127, 0, 0, 1}, uint32(80))
	f.Add("", make([]byte, 16), uint32(65535))
	f.Add("", []byte{1, 2, 3}, uint32(70000))
	f.Fuzz(func(t *testing.T, hostPort string, ip []byte, port uint32) {
		cmds := []*messages.Listen{{HostPort: hostPort}}
		if ip != nil {
			cmds = append(cmds, &messages.Listen{Local: &messages.Endpoint{Ip: ip, Port: port}})
		}
		for _, cmd := range cmds {
			ap, err := listenAddr(cmd)
			if err != nil {
				continue
			}
			if !ap.IsValid() {
				t.Fatalf("%v accepted as an invalid address", cmd)
			}
			back, perr := netip.ParseAddrPort(ap.String())
			if perr != nil || back != ap {
				t.Fatalf("%v → %v does not print back (%v, %v)", cmd, ap, back, perr)
			}
		}
	})
}
