package tcp

import (
	"net"
	"testing"

	"golang.org/x/net/nettest"
)

// TestConnConformance runs golang.org/x/net/nettest's net.Conn suite
// (basic I/O, ping-pong, racy reads and writes, deadlines, close) on a pair
// of Conns over actors.
func TestConnConformance(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
			sys := newSystem(t)
			l, err := Listen(testCtx(t), sys, addr)
			if err != nil {
				return nil, nil, nil, err
			}
			accepted := l.AcceptAsync(0)
			client := dial(t, sys, l.Addr().String())
			srv, err := l.Accepted(mustWait(t, accepted), nil)
			if err != nil {
				return nil, nil, nil, err
			}
			a, err := NewNetConn(testCtx(t), client)
			if err != nil {
				return nil, nil, nil, err
			}
			b, err := NewNetConn(testCtx(t), srv)
			if err != nil {
				return nil, nil, nil, err
			}
			stop := func() {
				a.Close()
				b.Close()
				l.Close(testCtx(t))
			}
			return a, b, stop, nil
		})
	})
}
