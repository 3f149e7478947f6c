package socket_test

import (
	"fmt"

	"github.com/actornet/actornet/socket"
)

// ParseLocal reads the local address of a listen or bind: an IP literal
// and a port, or ":port" for every interface (IPv4 and IPv6). It looks
// nothing up: tcp.Listen and udp.Bind resolve names before they parse.
func ExampleParseLocal() {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:7000", ":7000", "127.0.0.1:70000"} {
		ap, err := socket.ParseLocal(addr)
		if err != nil {
			fmt.Println(err) // an *AddrError: errors.Is(err, socket.ErrInvalidAddress)
			continue
		}
		fmt.Println(ap, ap.Addr().IsUnspecified())
	}
	// Output:
	// 127.0.0.1:0 false
	// [::1]:7000 false
	// [::]:7000 true
	// address 127.0.0.1:70000: invalid port
}
