package poller

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// A loop whose waits are long parks in Go's netpoller, as a net.Conn's
// reader does: its goroutine is in "IO wait", holding no thread, and
// readiness still reaches the socket's actor. Each of its waits returns
// one event (one busy UDP socket, a TLS server in a handshake): such a
// loop parks too (sleep.go's canPark).
func TestReleasedWaitParks(t *testing.T) {
	withHandoffAfter(t, 0) // every blocking wait is released
	be, p, r, b, ch := epollPoller(t)
	const rounds = 10
	var polls0 uint64
	for i := range rounds {
		deadline := time.Now().Add(5 * time.Second)
		for !loopParked() {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the loop never parked in the netpoller:\n%s", i, loopStack())
			}
			runtime.Gosched()
		}
		if i == 0 {
			polls0 = p.Stats().Polls // published as the loop went to wait
		}
		roundTrip(t, r, b, ch)
	}
	if n := be.park.parks.Load(); n < rounds {
		t.Fatalf("parker woke from %d parked waits, want %d or more", n, rounds)
	}
	st := p.Stats()
	if st.ReleasedWaits < rounds {
		t.Fatalf("ReleasedWaits = %d, want the parked waits counted", st.ReleasedWaits)
	}
	// A loop about to park goes to the parker's wait after a Ready's
	// batch, which polls first: no poll of its own (perhaps one for an
	// Again), where polling first would make one a round, and yielding
	// first three.
	if n := st.Polls - polls0; n >= rounds-1 {
		t.Fatalf("%d polls in %d rounds: the loop polled before parking", n, rounds-1)
	}
}

// epollPoller starts a poller on a real epoll instance, watching one end
// of a socket pair for reading: it returns the instance, the poller, the
// registration, the other end and where Ready messages go.
func epollPoller(t *testing.T) (*Epoll, *Poller, *Registration, int, chanSender) {
	t.Helper()
	be, err := NewEpoll()
	if err != nil {
		t.Fatal(err)
	}
	p, r, b, ch := pollerOn(t, be)
	return be, p, r, b, ch
}

// pollerOn starts a poller on be (stopped at cleanup), watching one end
// of a socket pair for reading.
func pollerOn(t *testing.T, be backend) (*Poller, *Registration, int, chanSender) {
	t.Helper()
	ch := make(chanSender, 64)
	p := start(be, ch, nil)
	t.Cleanup(func() { _ = p.Stop() })
	a, b := socketpair(t)
	r, err := p.Register(a, pid, Readable)
	if err != nil {
		t.Fatal(err)
	}
	return p, r, b, ch
}

// loopParked reports whether a goroutine waits in parker.wait, parked in
// the netpoller ("IO wait"), not blocked in a system call.
func loopParked() bool {
	for _, g := range strings.Split(loopStack(), "\n\n") {
		if strings.Contains(g, "poller.(*parker).wait") && strings.Contains(g, "[IO wait") {
			return true
		}
	}
	return false
}

func loopStack() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}
