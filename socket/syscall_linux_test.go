package socket

import (
	"errors"
	"net/netip"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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

// dataPathCall is one of the data path's calls that waits for its peer
// when the socket blocks: a receive with nothing sent, or a write to a
// peer whose buffers are full (fill). unblock makes it return.
type dataPathCall struct {
	name    string
	typ     Type
	fill    bool
	call    func(s *Socket, p []byte) error
	unblock func(peer *Socket) error
}

func dataPathCalls() []dataPathCall {
	var b Batch
	send := func(peer *Socket) error { _, err := peer.Write([]byte("x")); return err }
	return []dataPathCall{
		{name: "read", typ: Stream, call: func(s *Socket, p []byte) error { _, err := s.Read(p); return err }, unblock: send},
		{name: "recvfrom", typ: Datagram, call: func(s *Socket, p []byte) error { _, _, err := s.RecvFrom(p); return err }, unblock: send},
		{name: "recvfrom unix", typ: Datagram, call: func(s *Socket, p []byte) error { _, _, err := s.RecvFromUnix(p); return err }, unblock: send},
		{name: "recvmsg", typ: Datagram, call: func(s *Socket, p []byte) error { _, _, _, _, err := s.RecvMsg(p); return err }, unblock: send},
		{name: "recvmmsg", typ: Datagram, call: func(s *Socket, p []byte) error {
			_, err := s.RecvMsgs(&b, []Msg{{Buf: p}})
			return err
		}, unblock: send},
		{name: "write", typ: Stream, fill: true, call: func(s *Socket, p []byte) error { _, err := s.Write(p); return err },
			unblock: func(peer *Socket) error { return drain(peer) }},
	}
}

// fill writes to s until its buffers (and its peer's) are full.
func fill(t *testing.T, s *Socket) {
	t.Helper()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := s.Write(chunk); errors.Is(err, unix.EAGAIN) {
			return
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

// drain reads what peer holds until it would wait.
func drain(peer *Socket) error {
	buf := make([]byte, 64<<10)
	for {
		if _, err := peer.Read(buf); errors.Is(err, unix.EAGAIN) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// openFor opens a pair for c, the writer's buffers full if c needs them.
func openFor(t *testing.T, c dataPathCall) (*Socket, *Socket) {
	t.Helper()
	a, peer, err := Pair(c.typ)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); peer.Close() })
	if c.fill {
		fill(t, a)
	}
	return a, peer
}

// waitsInTheRuntime runs call on another goroutine and checks that it
// waits in a system call the runtime sees (the not-in-go count rises
// within 5 s), where a raw call would hold its P; then unblock makes it
// return, and its error is returned. A call that returns first, or never
// shows, fails the test as made raw. Run it with GOMAXPROCS 2 or more:
// this goroutine watches beside the waiting one, and allocates nothing
// while it does (see notInGo).
func waitsInTheRuntime(t *testing.T, what string, call func() error, unblock func() error) error {
	t.Helper()
	sample := []metrics.Sample{{Name: "/sched/goroutines/not-in-go:goroutines"}}
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	before := notInGo(sample)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- call() }()
	for notInGo(sample) <= before {
		select {
		case err := <-done:
			t.Fatalf("%s returned (%v) after %v without the runtime seeing it in a system call (made raw)", what, err, time.Since(start))
		case <-timer.C:
			_ = unblock()
			<-done
			t.Fatalf("%s waited in a system call the runtime does not see (made raw)", what)
		default:
		}
		runtime.Gosched()
	}
	if err := unblock(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not return once unblocked", what)
		return nil
	}
}

// A socket in blocking mode makes its calls as system calls that may
// block: the runtime must see its goroutine in one (and may give its P to
// others), where a raw call would hold the P for as long as it blocks.
func TestBlockingModeCallsEnterTheRuntime(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2)) // this goroutine runs beside the blocked one
	for _, c := range dataPathCalls() {
		t.Run(c.name, func(t *testing.T) {
			a, peer := openFor(t, c)
			if err := a.Blocking(true); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 16)
			err := waitsInTheRuntime(t, c.name+" in blocking mode", func() error { return c.call(a, buf) }, func() error { return c.unblock(peer) })
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		})
	}
}

// A socket not in blocking mode makes its calls raw, and they must not
// wait even when another holder of the open file cleared O_NONBLOCK (a
// dup, an fd passed on): here fcntl on FD(), behind the Socket's back.
// Each must say EAGAIN at once.
func TestRawCallsNeverWaitWhateverTheFileFlag(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2)) // this goroutine runs beside a call that waits
	for _, c := range dataPathCalls() {
		t.Run(c.name, func(t *testing.T) {
			a, peer := openFor(t, c)
			if err := unix.SetNonblock(a.FD(), false); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			buf := make([]byte, 16)
			timer := time.NewTimer(5 * time.Second) // made before: a call that waits raw must meet no allocation (see notInGo)
			defer timer.Stop()
			go func() { done <- c.call(a, buf) }()
			select {
			case err := <-done:
				if !errors.Is(err, unix.EAGAIN) {
					t.Fatalf("%s: %v, want EAGAIN", c.name, err)
				}
			case <-timer.C:
				_ = c.unblock(peer)
				<-done
				t.Fatalf("%s waited for its peer: a raw call on a file whose O_NONBLOCK was cleared", c.name)
			}
		})
	}
}

// listenLoopback returns a TCP listener on 127.0.0.1 with the given
// backlog, and its address.
func listenLoopback(t *testing.T, backlog int) (*Socket, netip.AddrPort) {
	t.Helper()
	ln := open(t, IPv4, Stream)
	if err := ln.Bind(netip.MustParseAddrPort("127.0.0.1:0")); err != nil {
		t.Fatal(err)
	}
	if err := ln.Listen(backlog); err != nil {
		t.Fatal(err)
	}
	la, err := ln.LocalAddr()
	if err != nil {
		t.Fatal(err)
	}
	return ln, la
}

// Accept is made raw only while the listener's open file is
// non-blocking: one whose O_NONBLOCK another holder cleared waits for a
// connection, and the runtime must see it wait (accept has no
// MSG_DONTWAIT to overrule the file).
func TestAcceptOnABlockingFileEntersTheRuntime(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2)) // this goroutine runs beside the blocked one
	ln, la := listenLoopback(t, 0)
	client := open(t, IPv4, Stream) // made before: a raw accept that waits must meet no allocation (see notInGo)
	if err := unix.SetNonblock(ln.FD(), false); err != nil {
		t.Fatal(err)
	}
	accept := func() error {
		s, _, err := ln.Accept()
		if err == nil {
			err = s.Close()
		}
		return err
	}
	connect := func() error {
		if err := client.Connect(la); err != nil && !errors.Is(err, unix.EINPROGRESS) {
			return err
		}
		return nil
	}
	if err := waitsInTheRuntime(t, "accept on a listener whose file blocks", accept, connect); err != nil {
		t.Fatalf("Accept: %v", err)
	}
}

// A socket whose SO_LINGER has a time closes with an ordinary system
// call: close waits for its unsent data to be acknowledged, here for the
// whole second (the peer reads nothing), and the runtime must see it
// wait. An accepted connection inherits its listener's linger.
func TestLingeringCloseEntersTheRuntime(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2)) // this goroutine runs beside the blocked one
	ln, la := listenLoopback(t, 0)
	if err := ln.SetLinger(time.Second); err != nil {
		t.Fatal(err)
	}
	client := open(t, IPv4, Stream)
	if err := client.Connect(la); err != nil && !errors.Is(err, unix.EINPROGRESS) {
		t.Fatal(err)
	}
	waitFD(t, ln.FD(), unix.POLLIN)
	server, _, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	fill(t, server)
	start := time.Now()
	if err := waitsInTheRuntime(t, "a lingering close", server.Close, func() error { return nil }); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Fatalf("close returned after %v: it did not linger, and the test shows nothing", d)
	}
}

// Connect keeps the ordinary call: connect(2) has no MSG_DONTWAIT, and on
// an open file whose O_NONBLOCK another holder cleared (here a dup) it
// waits for the handshake, which the runtime must see. The listener's
// full accept queue holds the handshake back until the test makes room.
func TestConnectOnABlockingFileEntersTheRuntime(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2)) // this goroutine runs beside the blocked one
	ln, la := listenLoopback(t, 1)
	for range 2 { // a backlog of 1 queues 2
		c := open(t, IPv4, Stream)
		if err := c.Connect(la); err != nil && !errors.Is(err, unix.EINPROGRESS) {
			t.Fatal(err)
		}
		waitFD(t, c.FD(), unix.POLLOUT)
		if err := c.Error(); err != nil {
			t.Fatal(err)
		}
	}
	c := open(t, IPv4, Stream)
	dup, err := unix.Dup(c.FD())
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dup)
	if err := unix.SetNonblock(dup, false); err != nil {
		t.Fatal(err)
	}
	makeRoom := func() error {
		for range 2 {
			waitFD(t, ln.FD(), unix.POLLIN)
			s, _, err := ln.Accept()
			if err != nil {
				return err
			}
			_ = s.Close()
		}
		return nil
	}
	if err := waitsInTheRuntime(t, "connect on a file whose O_NONBLOCK was cleared", func() error { return c.Connect(la) }, makeRoom); err != nil {
		t.Fatalf("Connect: %v", err)
	}
}
