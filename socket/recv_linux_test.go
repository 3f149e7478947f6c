package socket

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRecvMsgCountsDrops: with SO_RXQ_OVFL on, a receiver that does not
// read while a sender floods it accounts for every datagram: received +
// dropped = sent.
func TestRecvMsgCountsDrops(t *testing.T) {
	for _, lb := range loopbacks {
		t.Run(lb.name, func(t *testing.T) {
			rx := open(t, lb.domain, Datagram)
			if err := rx.SetRecvBuffer(4096); err != nil {
				t.Fatal(err)
			}
			if err := rx.SetRecvDrops(true); err != nil {
				t.Fatal(err)
			}
			if err := rx.Bind(lb.addr); err != nil {
				t.Fatal(err)
			}
			to, _ := rx.LocalAddr()
			tx := open(t, lb.domain, Datagram)
			const sent = 200
			payload := make([]byte, 512)
			for i := 0; i < sent; i++ {
				if _, err := tx.SendTo(payload, to); err != nil {
					t.Fatalf("SendTo %d: %v", i, err)
				}
			}
			received := 0
			buf := make([]byte, 1024)
			for {
				n, _, _, _, err := rx.RecvMsg(buf)
				if errors.Is(err, unix.EAGAIN) {
					break
				}
				if err != nil || n != len(payload) {
					t.Fatalf("RecvMsg = %d, %v", n, err)
				}
				received++
			}
			// The count rides on datagrams queued after a drop, and it is
			// cumulative: the marker sent last carries the total.
			if _, err := tx.SendTo([]byte("marker"), to); err != nil {
				t.Fatal(err)
			}
			waitFD(t, rx.FD(), unix.POLLIN)
			n, _, drops, ok, err := rx.RecvMsg(buf)
			if err != nil || n != len("marker") || !ok {
				t.Fatalf("marker: %d, %v, count present %v", n, err, ok)
			}
			if drops == 0 {
				t.Fatalf("a 4 KiB buffer took all %d datagrams: nothing to count", sent)
			}
			if received+int(drops) != sent {
				t.Fatalf("received %d + dropped %d != sent %d", received, drops, sent)
			}
		})
	}
}
