package test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/udp"
)

// TestUDPMillionDatagramsAccounted echoes datagrams through a push-mode
// peer and accounts for every one, on both hops: sent = received by the
// server + dropped at the server (SO_RXQ_OVFL), and echoed = received by
// the client + dropped at the client. Nothing is lost unaccounted. The
// default run sends 30,000 per family; -long a million.
func TestUDPMillionDatagramsAccounted(t *testing.T) {
	if testing.Short() {
		t.Skip("many datagrams: skipped in -short mode")
	}
	total := 30_000
	if *long {
		total = 1_000_000
	}
	for _, tc := range []struct {
		name string
		d    socket.Domain
		addr string
	}{{"ipv4", socket.IPv4, "127.0.0.1:0"}, {"ipv6", socket.IPv6, "[::1]:0"}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			sys, err := actors.Start()
			if err != nil {
				t.Fatal(err)
			}
			defer sys.StopNow()
			echo := udp.HandlerFunc(func(c *udp.Conn, msg any) {
				if d, ok := msg.(*messages.Datagram); ok {
					_ = c.SendTo(c.From(), d.GetData())
				}
			})
			// Small buffers and large bursts, so both hops drop some.
			srv, err := udp.Serve(ctx, sys, tc.addr, echo, udp.WithBuffers(128<<10, 0))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close(context.Background())

			c := newRawClient(t, tc.d, tc.addr)
			const window = 2048
			payload := []byte("0123456789abcdef0123456789abcdef")
			sent, echoed := 0, 0
			for sent < total {
				burst := min(window, total-sent)
				for i := 0; i < burst; i++ {
					c.send(t, payload, srv.LocalAddr())
					sent++
				}
				// Read the burst's echoes; a quiet 20 ms means the rest were dropped.
				for echoed < sent && c.recv(t, 20*time.Millisecond) {
					echoed++
				}
			}
			// A marker, sent once everything is quiet, carries the final drop
			// counts on both hops.
			markers := 0
			for {
				c.send(t, []byte("marker"), srv.LocalAddr())
				markers++
				got := false
				for c.recv(t, 2*time.Second) {
					if c.lastMarker {
						got = true
						break
					}
					echoed++
				}
				if got {
					break
				}
				if markers == 5 {
					t.Fatal("no marker came back")
				}
			}
			st, err := srv.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			serverIn := int(st.GetReceived()) + int(st.GetDrops())
			if serverIn != sent+markers {
				t.Fatalf("server: received %d + dropped %d = %d; client sent %d", st.GetReceived(), st.GetDrops(), serverIn, sent+markers)
			}
			clientIn := echoed + 1 + int(c.drops) // + the marker's echo
			if markers == 1 && clientIn != int(st.GetReceived()) {
				t.Fatalf("client: received %d + dropped %d; server echoed %d", echoed+1, c.drops, st.GetReceived())
			}
			t.Logf("%d datagrams: server received %d, dropped %d; client received %d, dropped %d",
				sent, st.GetReceived(), st.GetDrops(), echoed, c.drops)
		})
	}
}

// rawClient is a plain non-blocking socket, so the client side costs
// little next to the server under test.
type rawClient struct {
	s          *socket.Socket
	buf        []byte
	drops      uint32
	lastMarker bool
}

func newRawClient(t *testing.T, d socket.Domain, addr string) *rawClient {
	t.Helper()
	s, err := socket.Open(d, socket.Datagram)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.SetRecvDrops(true); err != nil {
		t.Fatal(err)
	}
	if err := s.Bind(netip.MustParseAddrPort(addr)); err != nil {
		t.Fatal(err)
	}
	return &rawClient{s: s, buf: make([]byte, 64)}
}

func (c *rawClient) send(t *testing.T, p []byte, to netip.AddrPort) {
	t.Helper()
	for {
		_, err := c.s.SendTo(p, to)
		if err == nil {
			return
		}
		if !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("sendto: %v", err)
		}
		c.wait(t, unix.POLLOUT, time.Second)
	}
}

// recv reads one echo, waiting up to quiet for it; false if none came.
func (c *rawClient) recv(t *testing.T, quiet time.Duration) bool {
	t.Helper()
	for {
		n, _, d, ok, err := c.s.RecvMsg(c.buf)
		if err == nil {
			if ok {
				c.drops = d
			}
			c.lastMarker = string(c.buf[:n]) == "marker"
			return true
		}
		if !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("recvmsg: %v", err)
		}
		if !c.wait(t, unix.POLLIN, quiet) {
			return false
		}
	}
}

func (c *rawClient) wait(t *testing.T, ev int16, d time.Duration) bool {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(c.s.FD()), Events: ev}}
	for {
		n, err := unix.Poll(fds, int(d/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		return n > 0
	}
}
