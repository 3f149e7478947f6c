package main

import (
	"net"
	"sync"
)

// startGoNetServer runs a plain Go net UDP echo server (one goroutine) for
// comparison with the actornet server.
func startGoNetServer(addr string) (*server, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
	return &server{kind: "Go net", addr: pc.LocalAddr().String(), close: func() { pc.Close(); wg.Wait() }}, nil
}
