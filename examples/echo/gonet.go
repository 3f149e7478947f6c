package main

import (
	"crypto/tls"
	"net"
	"strings"
	"sync"
)

// startGoNetServer runs a plain Go net echo server, a goroutine per
// connection, for comparison with the actornet server.
func startGoNetServer(addr string, tlsCfg *tls.Config) (*server, error) {
	network, where := "tcp", addr
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, where = "unix", path
	}
	ln, err := net.Listen(network, where)
	if err != nil {
		return nil, err
	}
	kind := "Go net"
	if tlsCfg != nil {
		kind += ", crypto/tls"
		ln = tls.NewListener(ln, tlsCfg)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { mu.Lock(); delete(conns, c); mu.Unlock(); c.Close() }()
				buf := make([]byte, 16<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if _, err := c.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	stop := func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
	shown := ln.Addr().String()
	if network == "unix" {
		shown = addr
	}
	return &server{kind: kind, addr: shown, close: stop}, nil
}
