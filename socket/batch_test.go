//go:build linux || darwin || freebsd

package socket

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// boundUDP opens a UDP socket bound to port 0 of lb's loopback and returns
// it with its address.
func boundUDP(t *testing.T, d Domain, addr netip.AddrPort) (*Socket, netip.AddrPort) {
	t.Helper()
	s := open(t, d, Datagram)
	if err := s.Bind(addr); err != nil {
		t.Fatal(err)
	}
	local, err := s.LocalAddr()
	if err != nil {
		t.Fatal(err)
	}
	return s, local
}

// payload returns n bytes that say which datagram they are.
func payload(i, n int) []byte {
	p := make([]byte, n)
	for j := range p {
		p[j] = byte(i + j)
	}
	return p
}

// TestRecvMsgsBatches: RecvMsgs takes what is waiting, at most MaxBatch
// and at most len(msgs) a call, in order, each with its sender and real
// length (a truncated one included, and the largest datagram), then EAGAIN.
func TestRecvMsgsBatches(t *testing.T) {
	for _, lb := range loopbacks {
		t.Run(lb.name, func(t *testing.T) {
			rx, to := boundUDP(t, lb.domain, lb.addr)
			if err := rx.SetRecvBuffer(4 << 20); err != nil {
				t.Fatal(err)
			}
			txA, fromA := boundUDP(t, lb.domain, lb.addr)
			txB, fromB := boundUDP(t, lb.domain, lb.addr)
			const total = MaxBatch + 8
			sizes := make([]int, total)
			for i := range total {
				sizes[i] = 1 + i*7
				tx := txA
				if i%2 == 1 {
					tx = txB
				}
				switch i {
				case 3:
					sizes[i] = 65507 // the largest IPv4 datagram
				case 5:
					sizes[i] = 3000 // truncated into the 2 KiB buffer below
				case 6:
					sizes[i] = 0 // an empty datagram
				}
				if lb.domain == IPv6 && i == 3 {
					sizes[i] = 65527
				}
				if _, err := tx.SendTo(payload(i, sizes[i]), to); err != nil {
					t.Fatalf("SendTo %d: %v", i, err)
				}
			}
			var b Batch
			msgs := make([]Msg, MaxBatch+4)
			for i := range msgs {
				msgs[i].Buf = make([]byte, 2048)
			}
			msgs[3].Buf = make([]byte, 65535)
			got := 0
			for calls := 0; got < total; calls++ {
				if calls == 3 {
					t.Fatalf("3 calls got %d of %d datagrams", got, total)
				}
				want := min(total-got, MaxBatch)
				waitFD(t, rx.FD(), unix.POLLIN)
				n, err := rx.RecvMsgs(&b, msgs)
				if err != nil || n == 0 || n > want {
					t.Fatalf("RecvMsgs = %d, %v; want up to %d", n, err, want)
				}
				for j, m := range msgs[:n] {
					i := got + j
					from := fromA
					if i%2 == 1 {
						from = fromB
					}
					if !truncatedLengthKnown && m.N > len(m.Buf) {
						m.N = sizes[i] // the BSDs say len+1
					}
					if m.N != sizes[i] || m.Addr != from {
						t.Fatalf("datagram %d: %d bytes from %v; want %d from %v", i, m.N, m.Addr, sizes[i], from)
					}
					if k := min(m.N, len(m.Buf)); !bytes.Equal(m.Buf[:k], payload(i, sizes[i])[:k]) {
						t.Fatalf("datagram %d: wrong bytes", i)
					}
				}
				got += n
				// The largest datagram had its own buffer: keep it first.
				copy(msgs, msgs[n:])
				for i := len(msgs) - n; i < len(msgs); i++ {
					msgs[i].Buf = make([]byte, 2048)
				}
			}
			if n, err := rx.RecvMsgs(&b, msgs); n != 0 || err != unix.EAGAIN {
				t.Fatalf("RecvMsgs on an empty socket = %d, %v; want EAGAIN", n, err)
			}
		})
	}
}

// TestSendMsgsBatches: SendMsgs sends each datagram to its address, in
// order; an invalid address stops the batch before it, and the next call
// reports it.
func TestSendMsgsBatches(t *testing.T) {
	for _, lb := range loopbacks {
		t.Run(lb.name, func(t *testing.T) {
			rxA, toA := boundUDP(t, lb.domain, lb.addr)
			rxB, toB := boundUDP(t, lb.domain, lb.addr)
			tx, _ := boundUDP(t, lb.domain, lb.addr)
			var b Batch
			msgs := []Msg{
				{Buf: payload(0, 10), Addr: toA},
				{Buf: payload(1, 20), Addr: toB},
				{Buf: payload(2, 30), Addr: toA},
				{Buf: payload(3, 5), Addr: netip.AddrPort{}},
				{Buf: payload(4, 40), Addr: toB},
			}
			n, err := tx.SendMsgs(&b, msgs)
			if n != 3 || err != nil {
				t.Fatalf("SendMsgs = %d, %v; want the 3 before the invalid address", n, err)
			}
			if n, err := tx.SendMsgs(&b, msgs[3:]); n != 0 || !errors.Is(err, ErrInvalidAddress) {
				t.Fatalf("SendMsgs from the invalid address = %d, %v; want ErrInvalidAddress", n, err)
			}
			if n, err := tx.SendMsgs(&b, msgs[4:]); n != 1 || err != nil {
				t.Fatalf("SendMsgs after it = %d, %v", n, err)
			}
			buf := make([]byte, 100)
			for _, w := range []struct {
				rx *Socket
				i  int
			}{{rxA, 0}, {rxA, 2}, {rxB, 1}, {rxB, 4}} {
				waitFD(t, w.rx.FD(), unix.POLLIN)
				n, _, err := w.rx.RecvFrom(buf)
				if err != nil || !bytes.Equal(buf[:n], msgs[w.i].Buf) {
					t.Fatalf("receiver of datagram %d got %v (%v)", w.i, buf[:n], err)
				}
			}
			tx.Close()
			if _, err := tx.SendMsgs(&b, msgs[:1]); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("SendMsgs on a closed socket = %v", err)
			}
			if _, err := tx.RecvMsgs(&b, msgs[:1]); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("RecvMsgs on a closed socket = %v", err)
			}
		})
	}
}
