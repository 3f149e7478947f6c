package poller

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestURingRecvRearmsAtLimit: a receive that ends at its byte limit while
// its owner has room left is armed again by the loop, and the owner gets
// the bytes without the end (it does not read the socket itself); an
// owner that this completion fills meets the end, and nothing is armed.
func TestURingRecvRearmsAtLimit(t *testing.T) {
	skipRefused(t, BackendIOUring)
	for _, tc := range []struct {
		name      string
		room      int // the owner's room before the completion
		wantEnded bool
	}{
		{name: "room left", room: 4},
		{name: "filled", room: 1, wantEnded: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime.LockOSThread() // the receive's task work runs on this thread
			defer runtime.UnlockOSThread()
			u := newURing(t)
			sink := &sinkRecorder{room: tc.room}
			u.setRecvSink(sink)
			defer func() { // before the ring closes (cleanup)
				for _, e := range sink.entries {
					if e.hasBuf {
						u.ReleaseBuf(e.bid)
					}
				}
			}()
			a, b := socketpair(t)
			if recv, err := u.AddRecv(a, unix.EPOLLOUT, 1, recvBytes(1)); err != nil || !recv {
				t.Fatalf("AddRecv = %v, %v; want a receive", recv, err)
			}
			first := bytes.Repeat([]byte{'a'}, RecvBufSize) // the whole limit
			if _, err := unix.Write(b, first); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			var got []byte
			for len(got) < len(first) && time.Now().Before(deadline) {
				waitURing(t, u)
				got, _ = sink.seen()
			}
			u.mu.Lock()
			armed := u.slots[a].recvArmed
			u.mu.Unlock()
			_, ended := sink.seen()
			if !bytes.Equal(got, first) || ended != tc.wantEnded || armed == tc.wantEnded {
				t.Fatalf("after %d bytes (the limit): got %d, owner met the end %v, receive armed %v; want the end %v",
					len(first), len(got), ended, armed, tc.wantEnded)
			}
			if tc.wantEnded {
				return
			}
			second := []byte("after the limit")
			if _, err := unix.Write(b, second); err != nil {
				t.Fatal(err)
			}
			want := append(first, second...)
			for len(got) < len(want) && time.Now().Before(deadline) {
				waitURing(t, u)
				got, _ = sink.seen()
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("received %d bytes, %q at the end; want %d, %q", len(got), got[min(len(got), len(first)):], len(want), second)
			}
		})
	}
}
