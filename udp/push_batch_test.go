package udp

import (
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/test/testkit"
)

// syscallCounter counts the peer sockets' receive and send system calls
// (each batch is one).
type syscallCounter struct{ recvs, sends atomic.Int64 }

func countSyscalls(t *testing.T) *syscallCounter {
	var c syscallCounter
	remove := socket.InjectFaults(func(op socket.Op, fd int) error {
		switch op {
		case socket.OpRecvFrom:
			c.recvs.Add(1)
		case socket.OpSendTo:
			c.sends.Add(1)
		}
		return nil
	})
	t.Cleanup(remove)
	return &c
}

// gate is a handler that holds the first datagram until release is
// closed (meanwhile the test queues more in the kernel, to be read in
// batches), then hands every message to next.
func gate(held chan<- struct{}, release <-chan struct{}, next Handler) Handler {
	first := true
	return HandlerFunc(func(c *Conn, msg any) {
		if _, ok := msg.(*messages.Datagram); ok && first {
			first = false
			close(held)
			<-release
		}
		next.Receive(c, msg)
	})
}

// gated serves h behind a gate (WithBlockingHandlers: the held handler
// blocks a worker, not the poller), sends the first datagram from c and
// waits until the handler holds it; calling the returned func releases it.
func gated(t *testing.T, sys *actors.System, addr string, h Handler, c *net.UDPConn, opts ...ServeOption) (*Peer, *net.UDPAddr, func()) {
	t.Helper()
	held, release := make(chan struct{}), make(chan struct{})
	srv := serve(t, sys, addr, gate(held, release, h), append(opts, WithBlockingHandlers())...)
	to := net.UDPAddrFromAddrPort(srv.LocalAddr())
	if _, err := c.WriteToUDP([]byte("0 first"), to); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held:
	case <-testCtx(t).Done():
		t.Fatal("the handler never got the first datagram")
	}
	return srv, to, func() { close(release) }
}

// udpClient opens a Go net UDP socket on addr's loopback.
func udpClient(t *testing.T, addr string) *net.UDPConn {
	t.Helper()
	ip := net.ParseIP("127.0.0.1")
	if addr[0] == '[' {
		ip = net.ParseIP("::1")
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetReadBuffer(1 << 20); err != nil {
		t.Fatal(err)
	}
	return c
}

// expect reads the datagrams want from c, in order.
func expect(t *testing.T, c *net.UDPConn, want ...string) {
	t.Helper()
	buf := make([]byte, 64)
	for _, w := range want {
		if err := c.SetReadDeadline(time.Now().Add(testTimeout)); err != nil {
			t.Fatal(err)
		}
		m, err := c.Read(buf)
		if err != nil || string(buf[:m]) != w {
			t.Fatalf("got %q (%v); want %q: datagrams lost or out of order", buf[:m], err, w)
		}
	}
}

// TestPushBatchedEcho: datagrams waiting in the kernel are read in
// batches and the echoes sent in batches (far fewer system calls than
// datagrams, as the fault hook counts them), every echo reaching its
// sender, in order, on both families.
func TestPushBatchedEcho(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		counts := countSyscalls(t)
		sys := newSystem(t)
		clients := []*net.UDPConn{udpClient(t, addr), udpClient(t, addr), udpClient(t, addr)}
		_, to, release := gated(t, sys, addr, echo, clients[0])
		const n = 120 // all waiting in the kernel when the handler goes on
		for i := 1; i <= n; i++ {
			if _, err := clients[i%3].WriteToUDP([]byte(fmt.Sprintf("%d %d", i%3, i)), to); err != nil {
				t.Fatal(err)
			}
		}
		r0, s0 := counts.recvs.Load(), counts.sends.Load()
		release()
		for k, c := range clients {
			want := []string{}
			if k == 0 {
				want = append(want, "0 first")
			}
			for i := 1; i <= n; i++ {
				if i%3 == k {
					want = append(want, fmt.Sprintf("%d %d", k, i))
				}
			}
			expect(t, c, want...)
		}
		recvs, sends := counts.recvs.Load()-r0, counts.sends.Load()-s0
		t.Logf("%d datagrams each way: %d receive calls, %d send calls", n+1, recvs, sends)
		if recvs > (n+1)/4 || sends > (n+1)/4 {
			t.Fatalf("%d datagrams took %d receive and %d send calls; want batches (at most a quarter as many calls)", n+1, recvs, sends)
		}
	})
}

// TestPushPauseMidBatch: a handler that pauses in the middle of a batch
// read gets nothing more (the rest of the batch included) until it
// resumes, then everything, in order.
func TestPushPauseMidBatch(t *testing.T) {
	sys := newSystem(t)
	c := udpClient(t, "127.0.0.1:0")
	srv, to, release := gated(t, sys, "127.0.0.1:0", &pauser{}, c)
	var sent []string
	for i := range 20 {
		m := fmt.Sprint(i)
		if i == 2 {
			m = "pause"
		}
		sent = append(sent, m)
		if _, err := c.WriteToUDP([]byte(m), to); err != nil {
			t.Fatal(err)
		}
	}
	release()
	expect(t, c, append([]string{"0 first"}, sent[:3]...)...)
	if n := askSeen(t, sys, srv.PID()); n != 4 {
		t.Fatalf("a handler paused at its fourth datagram saw %d", n)
	}
	sys.Root().Send(srv.PID(), resume{})
	expect(t, c, sent[3:]...)
	if n := askSeen(t, sys, srv.PID()); n != 1+len(sent) {
		t.Fatalf("after resuming the handler saw %d of %d", n, 1+len(sent))
	}
}

// TestPushCloseMidBatch: a handler that closes its peer in the middle of
// a batch still has what it sent before going out.
func TestPushCloseMidBatch(t *testing.T) {
	sys := newSystem(t)
	c := udpClient(t, "127.0.0.1:0")
	closer := HandlerFunc(func(conn *Conn, msg any) {
		d, ok := msg.(*messages.Datagram)
		if !ok {
			return
		}
		if err := conn.SendTo(conn.From(), d.GetData()); err != nil {
			panic(err)
		}
		if string(d.GetData()) == "quit" {
			conn.Close()
		}
	})
	srv, to, release := gated(t, sys, "127.0.0.1:0", closer, c)
	want := []string{"0 first"}
	for i := range 12 {
		m := fmt.Sprint(i)
		if i == 5 {
			m = "quit"
		}
		if i <= 5 {
			want = append(want, m)
		}
		if _, err := c.WriteToUDP([]byte(m), to); err != nil {
			t.Fatal(err)
		}
	}
	release()
	expect(t, c, want...)
	testkit.WaitStopped(t, sys, srv.PID())
}
