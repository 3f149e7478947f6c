package socket

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// notInGo is how many goroutines the runtime counts as in a system call
// (or cgo): those that entered it with entersyscall, not those in a raw
// one, which it counts as running Go code. It allocates nothing: while a
// raw call blocks, a collection's stop-the-world would wait for it for
// good, and the test would hang rather than fail.
func notInGo(s []metrics.Sample) uint64 {
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// A socket in blocking mode makes its receives as system calls that may
// block: the runtime must see its goroutine in one (and may give its P to
// others), where a raw call would hold the P for as long as it blocks.
// Every receive path of the data path is tried.
func TestBlockingModeReceivesEnterTheRuntime(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2)) // this goroutine runs beside the blocked one
	var b Batch
	sample := []metrics.Sample{{Name: "/sched/goroutines/not-in-go:goroutines"}}
	cases := []struct {
		name string
		typ  Type
		recv func(s *Socket, p []byte) error
	}{
		{"read", Stream, func(s *Socket, p []byte) error { _, err := s.Read(p); return err }},
		{"recvfrom", Datagram, func(s *Socket, p []byte) error { _, _, err := s.RecvFrom(p); return err }},
		{"recvfrom unix", Datagram, func(s *Socket, p []byte) error { _, _, err := s.RecvFromUnix(p); return err }},
		{"recvmsg", Datagram, func(s *Socket, p []byte) error { _, _, _, _, err := s.RecvMsg(p); return err }},
		{"recvmmsg", Datagram, func(s *Socket, p []byte) error {
			_, err := s.RecvMsgs(&b, []Msg{{Buf: p}})
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, peer, err := Pair(c.typ)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			defer peer.Close()
			if err := a.Blocking(true); err != nil {
				t.Fatal(err)
			}
			before := notInGo(sample)
			done := make(chan error, 1)
			buf := make([]byte, 16)
			go func() { done <- c.recv(a, buf) }()
			deadline := time.Now().Add(5 * time.Second)
			for notInGo(sample) <= before {
				if time.Now().After(deadline) {
					_, _ = peer.Write([]byte("x")) // end the receive
					<-done
					t.Fatalf("%s blocked in a system call the runtime does not see (made raw in blocking mode)", c.name)
				}
				runtime.Gosched()
			}
			if _, err := peer.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s did not return after the peer wrote", c.name)
			}
		})
	}
}
