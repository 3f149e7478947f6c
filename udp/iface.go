package udp

import (
	"net"
	"strconv"

	"github.com/actornet/actornet/socket"
)

// interfaceIndex resolves a multicast interface given by name or index;
// empty means 0 (the kernel picks).
func interfaceIndex(name string) (int, error) {
	if name == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return 0, socket.ErrInvalidAddress
	}
	return ifi.Index, nil
}
