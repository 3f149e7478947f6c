package actors

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/test/testkit/certs"
)

// testTimeout bounds every wait in these tests; reaching it is a failure.
const testTimeout = 10 * time.Second

func newSystem(t testing.TB, opts ...Option) *System {
	t.Helper()
	sys, err := Start(opts...)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := sys.StopNow(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return sys
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// within is a context that ends after d: the deadline of one call whose
// timeout a test exercises.
func within(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// pair returns a socket actor for one end of a stream socket pair and the
// raw other end, which the test drives directly.
func pair(t testing.TB, sys *System) (*Socket, *socket.Socket) {
	t.Helper()
	a, b, err := socket.Pair(socket.Stream)
	if err != nil {
		t.Fatalf("Pair: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	sa, err := SpawnSocket(sys, a)
	if err != nil {
		t.Fatalf("SpawnSocket: %v", err)
	}
	return sa, b
}

func mustWrite(t testing.TB, s *socket.Socket, p []byte) {
	t.Helper()
	if n, err := s.Write(p); err != nil || n != len(p) {
		t.Fatalf("Write: %d, %v", n, err)
	}
}

// waitEOF waits (in poll(2), up to testTimeout) until the peer end s reads
// end of stream: proof that the socket actor closed its fd.
func waitEOF(t testing.TB, s *socket.Socket) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	buf := make([]byte, 64)
	for time.Now().Before(deadline) {
		fds := []unix.PollFd{{Fd: int32(s.FD()), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(time.Until(deadline)/time.Millisecond)+1); err != nil && err != unix.EINTR {
			t.Fatalf("poll: %v", err)
		}
		n, err := s.Read(buf)
		if n == 0 && err == nil {
			return
		}
	}
	t.Fatal("peer never saw end of stream: the actor's fd is still open")
}

// newCA makes a certificate authority for a test's nodes.
func newCA(t *testing.T, name string) *certs.CA {
	t.Helper()
	ca, err := certs.NewCA(name)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}
