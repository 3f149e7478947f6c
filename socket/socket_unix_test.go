//go:build linux || darwin || freebsd

package socket

import (
	"errors"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// loopbacks are the two domains every test runs on.
var loopbacks = []struct {
	name   string
	domain Domain
	addr   netip.AddrPort
}{
	{name: "ipv4", domain: IPv4, addr: netip.MustParseAddrPort("127.0.0.1:0")},
	{name: "ipv6", domain: IPv6, addr: netip.MustParseAddrPort("[::1]:0")},
}

func open(t *testing.T, d Domain, ty Type) *Socket {
	t.Helper()
	s, err := Open(d, ty)
	if err != nil {
		t.Fatalf("Open(%v, %v): %v", d, ty, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// waitFD waits in poll(2), up to five seconds, for events on fd.
func waitFD(t *testing.T, fd int, events int16) int16 {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
	for {
		n, err := unix.Poll(fds, 5000)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			t.Fatalf("poll fd %d: n=%d err=%v", fd, n, err)
		}
		return fds[0].Revents
	}
}

func TestOpenAndCloseIdempotent(t *testing.T) {
	for _, lb := range loopbacks {
		for _, ty := range []Type{Stream, Datagram} {
			t.Run(lb.name+"/"+ty.String(), func(t *testing.T) {
				s, err := Open(lb.domain, ty)
				if err != nil {
					t.Fatal(err)
				}
				fl, err := unix.FcntlInt(uintptr(s.FD()), unix.F_GETFD, 0)
				if err != nil || fl&unix.FD_CLOEXEC == 0 {
					t.Fatalf("close-on-exec not set: %#x, %v", fl, err)
				}
				if blocking, _ := s.IsBlocking(); blocking {
					t.Fatal("Open returned a blocking socket")
				}
				if err := s.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				if s.FD() != -1 {
					t.Fatalf("FD after Close = %d; want -1", s.FD())
				}
				err = s.Close()
				var oe *OpError
				if !errors.Is(err, net.ErrClosed) || !errors.As(err, &oe) || oe.Op != "close" {
					t.Fatalf("second Close = %v; want close OpError wrapping net.ErrClosed", err)
				}
			})
		}
	}
}

func TestOpenInvalid(t *testing.T) {
	tests := []struct {
		name string
		d    Domain
		ty   Type
	}{
		{name: "unknown domain", d: 9, ty: Stream},
		{name: "zero domain", d: 0, ty: Stream},
		{name: "zero type", d: IPv4, ty: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Open(tt.d, tt.ty); !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("Open = %v; want ErrInvalidArgument", err)
			}
		})
	}
}

func TestBlockingMode(t *testing.T) {
	s := open(t, IPv4, Stream)
	for _, want := range []bool{true, false, true} {
		if err := s.Blocking(want); err != nil {
			t.Fatal(err)
		}
		if got, err := s.IsBlocking(); got != want || err != nil {
			t.Fatalf("IsBlocking = %v, %v; want %v", got, err, want)
		}
	}
}

func TestShutdown(t *testing.T) {
	a, b, err := Pair(Stream)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	if err := a.Shutdown(Write); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Read(make([]byte, 4)); n != 0 || err != nil {
		t.Fatalf("peer Read = %d, %v; want end of stream", n, err)
	}
	if err := a.Shutdown(How(99)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Shutdown(99) = %v; want ErrInvalidArgument", err)
	}
	a.Close()
	if err := a.Shutdown(Both); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Shutdown after Close = %v; want net.ErrClosed", err)
	}
}

// connected returns a connected TCP client and the server side accepted
// from a listener on lb's loopback address.
func connected(t *testing.T, d Domain, addr netip.AddrPort) (client, server *Socket) {
	t.Helper()
	ln := open(t, d, Stream)
	if err := ln.Apply(Options{ReuseAddr: true}); err != nil {
		t.Fatal(err)
	}
	if err := ln.Bind(addr); err != nil {
		t.Fatal(err)
	}
	if err := ln.Listen(0); err != nil {
		t.Fatal(err)
	}
	la, err := ln.LocalAddr()
	if err != nil || la.Port() == 0 {
		t.Fatalf("LocalAddr = %v, %v", la, err)
	}
	client = open(t, d, Stream)
	if err := client.Connect(la); err != nil && !errors.Is(err, unix.EINPROGRESS) {
		t.Fatalf("Connect: %v", err)
	}
	waitFD(t, client.FD(), unix.POLLOUT)
	if err := client.Error(); err != nil {
		t.Fatalf("SO_ERROR after connect: %v", err)
	}
	waitFD(t, ln.FD(), unix.POLLIN)
	server, from, err := ln.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { _ = server.Close() })
	if cl, _ := client.LocalAddr(); cl != from {
		t.Fatalf("Accept reported peer %v; client is bound to %v", from, cl)
	}
	if ra, _ := client.RemoteAddr(); ra != la {
		t.Fatalf("client RemoteAddr = %v; want %v", ra, la)
	}
	return client, server
}

func TestTCPConnectAcceptReadWrite(t *testing.T) {
	for _, lb := range loopbacks {
		t.Run(lb.name, func(t *testing.T) {
			client, server := connected(t, lb.domain, lb.addr)
			msg := []byte("hello, actor")
			if n, err := client.Write(msg); n != len(msg) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
			waitFD(t, server.FD(), unix.POLLIN)
			buf := make([]byte, 64)
			n, err := server.Read(buf)
			if err != nil || string(buf[:n]) != string(msg) {
				t.Fatalf("Read = %q, %v; want %q", buf[:n], err, msg)
			}
			if _, err := server.Read(buf); !errors.Is(err, unix.EAGAIN) {
				t.Fatalf("Read with nothing waiting = %v; want bare EAGAIN", err)
			}
		})
	}
}

func TestWriteToClosedPeerIsEPIPENotSIGPIPE(t *testing.T) {
	a, b, err := Pair(Stream)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b.Close()
	if _, err := a.Write([]byte("x")); !errors.Is(err, unix.EPIPE) {
		t.Fatalf("Write to a closed peer = %v; want EPIPE", err)
	}
}

func TestConnectRefused(t *testing.T) {
	for _, lb := range loopbacks {
		t.Run(lb.name, func(t *testing.T) {
			// Bind a port, then close it: nothing listens there.
			probe := open(t, lb.domain, Stream)
			if err := probe.Bind(lb.addr); err != nil {
				t.Fatal(err)
			}
			dead, _ := probe.LocalAddr()
			probe.Close()
			c := open(t, lb.domain, Stream)
			err := c.Connect(dead)
			if errors.Is(err, unix.EINPROGRESS) {
				waitFD(t, c.FD(), unix.POLLOUT)
				err = c.Error()
			}
			if !errors.Is(err, unix.ECONNREFUSED) {
				t.Fatalf("connect to a closed port = %v; want ECONNREFUSED", err)
			}
		})
	}
}

func TestConnectInvalidAddress(t *testing.T) {
	tests := []struct {
		name string
		d    Domain
		addr netip.AddrPort
	}{
		{name: "zero address", d: IPv4, addr: netip.AddrPort{}},
		{name: "port zero", d: IPv4, addr: netip.MustParseAddrPort("127.0.0.1:0")},
		{name: "ipv6 on ipv4 socket", d: IPv4, addr: netip.MustParseAddrPort("[::1]:80")},
		{name: "unknown zone", d: IPv6, addr: netip.MustParseAddrPort("[fe80::1%nosuchif0]:80")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, tt.d, Stream)
			err := s.Connect(tt.addr)
			var oe *OpError
			if !errors.Is(err, ErrInvalidAddress) || !errors.As(err, &oe) || oe.Op != "connect" {
				t.Fatalf("Connect = %v; want connect OpError wrapping ErrInvalidAddress", err)
			}
		})
	}
}

func TestDatagramTruncationReported(t *testing.T) {
	for _, lb := range loopbacks {
		t.Run(lb.name, func(t *testing.T) {
			rx := open(t, lb.domain, Datagram)
			if err := rx.Bind(lb.addr); err != nil {
				t.Fatal(err)
			}
			to, _ := rx.LocalAddr()
			tx := open(t, lb.domain, Datagram)
			if err := tx.Bind(lb.addr); err != nil {
				t.Fatal(err)
			}
			from, _ := tx.LocalAddr()
			payload := make([]byte, 100)
			for i := range payload {
				payload[i] = byte(i)
			}
			if n, err := tx.SendTo(payload, to); n != len(payload) || err != nil {
				t.Fatalf("SendTo = %d, %v", n, err)
			}
			waitFD(t, rx.FD(), unix.POLLIN)
			buf := make([]byte, 10)
			n, sender, err := rx.RecvFrom(buf)
			if err != nil {
				t.Fatal(err)
			}
			if truncatedLengthKnown && n != len(payload) {
				t.Fatalf("RecvFrom length = %d; want the real length %d", n, len(payload))
			}
			if n <= len(buf) {
				t.Fatalf("RecvFrom length = %d; want more than the %d-byte buffer", n, len(buf))
			}
			if sender != from {
				t.Fatalf("sender = %v; want %v", sender, from)
			}
			if string(buf) != string(payload[:10]) {
				t.Fatalf("prefix = %v; want %v", buf, payload[:10])
			}
			if _, err := tx.SendTo(payload, netip.AddrPort{}); !errors.Is(err, ErrInvalidAddress) {
				t.Fatalf("SendTo zero address = %v; want ErrInvalidAddress", err)
			}
		})
	}
}

func TestSendToWrongFamily(t *testing.T) {
	s := open(t, IPv4, Datagram)
	if _, err := s.SendTo([]byte("x"), netip.MustParseAddrPort("[::1]:9")); !errors.Is(err, ErrInvalidAddress) {
		t.Fatalf("SendTo IPv6 on IPv4 socket = %v; want ErrInvalidAddress", err)
	}
}

func TestClosedSocketDataPath(t *testing.T) {
	s, err := Open(IPv4, Datagram)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	buf := make([]byte, 4)
	checks := map[string]error{}
	_, checks["read"] = s.Read(buf)
	_, checks["write"] = s.Write(buf)
	_, checks["sendto"] = s.SendTo(buf, netip.MustParseAddrPort("127.0.0.1:9"))
	_, _, checks["recvfrom"] = s.RecvFrom(buf)
	_, _, checks["accept"] = s.Accept()
	checks["bind"] = s.Bind(netip.MustParseAddrPort("127.0.0.1:0"))
	checks["listen"] = s.Listen(1)
	checks["connect"] = s.Connect(netip.MustParseAddrPort("127.0.0.1:9"))
	checks["error"] = s.Error()
	_, checks["pollnow"] = s.PollNow(PollIn)
	for op, err := range checks {
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("%s on a closed socket = %v; want net.ErrClosed", op, err)
		}
	}
}
