package test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/test/leakcheck"
)

// TestAcceptEMFILEBackoff: with the process out of fds, a push-mode
// listener's accept fails with EMFILE; it backs off (no busy loop, a few
// attempts at most) and, once fds are free again, accepts the connection
// that waited in the backlog.
func TestAcceptEMFILEBackoff(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sys, err := actors.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.StopNow()

	failures := make(chan *tcp.AcceptFailed, 64)
	sub := sys.Actors.EventStream.Subscribe(func(evt interface{}) {
		if f, ok := evt.(*tcp.AcceptFailed); ok {
			select {
			case failures <- f:
			default:
			}
		}
	})
	defer sys.Actors.EventStream.Unsubscribe(sub)

	connected := make(chan struct{}, 1)
	handler := tcp.HandlerFunc(func(_ *tcp.Conn, msg any) {
		if _, ok := msg.(*messages.Connected); ok {
			select { // never block the poller's goroutine
			case connected <- struct{}{}:
			default:
			}
		}
	})
	l, err := tcp.Serve(ctx, sys, "127.0.0.1:0", handler)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())

	// The client's socket is opened while fds are still free.
	client, err := socket.Open(socket.IPv4, socket.Stream)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	release := exhaustFDs(t)
	err = client.Connect(l.Addr())
	if err != nil && !errors.Is(err, unix.EINPROGRESS) {
		release()
		t.Fatal(err)
	}
	var first *tcp.AcceptFailed
	select {
	case first = <-failures:
	case <-ctx.Done():
		release()
		t.Fatal("the listener never reported an accept failure")
	}
	release()
	if !errors.Is(first.Err, syscall.EMFILE) || first.Backoff <= 0 {
		t.Fatalf("AcceptFailed = %+v; want EMFILE with a back-off", first)
	}
	select {
	case <-connected:
	case <-ctx.Done():
		t.Fatal("the waiting connection was never accepted after fds were freed")
	}
	st, err := l.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.GetAccepted() != 1 || st.GetAcceptErrors() == 0 || st.GetAcceptErrors() > 50 {
		t.Fatalf("Stats = %v; want 1 accepted after a few (not thousands of) accept errors", st)
	}
}

// exhaustFDs lowers the soft fd limit to just above the fds open now and
// fills every free number below it; release undoes both.
func exhaustFDs(t *testing.T) (release func()) {
	t.Helper()
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	open, err := leakcheck.OpenFDs()
	if err != nil {
		t.Fatal(err)
	}
	highest := 0
	for fd := range open {
		highest = max(highest, fd)
	}
	lim := old
	lim.Cur = uint64(highest + 8)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	var fillers []int
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			break
		}
		fillers = append(fillers, fd)
	}
	return func() {
		for _, fd := range fillers {
			unix.Close(fd)
		}
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
			t.Error(err)
		}
	}
}
