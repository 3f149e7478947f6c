package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/test/leakcheck"
	"github.com/actornet/actornet/test/testkit"
)

// TestMain runs node A when a test starts this binary as its second
// process; otherwise the tests, with the leak checks.
func TestMain(m *testing.M) {
	if addr := os.Getenv(nodeEnv); addr != "" {
		os.Exit(nodeMain(addr, os.Stdin, os.Stdout))
	}
	leakcheck.Main(m, stopShared)
}

// shared is the one gateway of this test process: node B's remote may
// start only once per process (a second start races, under -race, with
// gRPC goroutines the first left behind), so -count reuses it.
var shared struct {
	once sync.Once
	g    *gateway
	err  error
}

func sharedGateway(ctx context.Context) (*gateway, error) {
	shared.once.Do(func() { shared.g, shared.err = startGateway(ctx, "") })
	return shared.g, shared.err
}

// stopShared stops the shared gateway after the tests, before the leak
// checks.
func stopShared() {
	if shared.g != nil {
		if err := shared.g.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "gateway stop:", err)
		}
	}
}

// TestGateway runs both nodes once (node A in a second process; node B's
// remote may start only once per process: a second start races, under
// -race, with gRPC goroutines the first left behind) and serves each
// subtest from a listener of its own on node A.
func TestGateway(t *testing.T) {
	ctx := testkit.Context(t) // the gateway's; each subtest has its own (under load the half-close alone took most of one)
	g, err := sharedGateway(context.WithoutCancel(ctx))
	if err != nil {
		t.Fatal(err)
	}
	// The default run: users whose every line comes back upper-cased
	// through both nodes.
	t.Run("default run", func(t *testing.T) {
		ctx := testkit.Context(t)
		l, err := g.listen(ctx, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := talk(ctx, l.Addr().String(), config{users: 3, lines: 5}, &b); err != nil {
			t.Fatalf("gateway: %v\n%s", err, b.String())
		}
		if !strings.Contains(b.String(), "3 users × 5 lines: 15 replies, all upper-cased") {
			t.Fatalf("summary missing:\n%s", b.String())
		}
	})
	// Half-close: many users connect, send their lines (the last one
	// without a newline) and half-close at once, without waiting for
	// anything (as `nc -N` does). Each gets every line back upper-cased,
	// then the end of the stream.
	t.Run("half-close", func(t *testing.T) {
		ctx := testkit.Context(t)
		testkit.ForEachFamily(t, func(t *testing.T, addr string) {
			l, err := g.listen(ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			const users, lines = 200, 4
			errs := make(chan error, users)
			for u := range users {
				go func() { errs <- sendAndHalfClose(l.Addr().String(), u, lines) }()
			}
			for range users {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
		})
	})
	// A line over maxLine (8 MiB, its only newline at the end, as a rude
	// client sends it) gets "line too long" and a close; the users after
	// it, on the same listener, are served.
	t.Run("line too long", func(t *testing.T) {
		ctx := testkit.Context(t)
		l, err := g.listen(ctx, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		if err := sendHugeLine(addr, 8<<20); err != nil {
			t.Fatal(err)
		}
		for u := range 3 {
			if err := sendAndHalfClose(addr, u, 2); err != nil {
				t.Fatalf("after the huge line: %v", err)
			}
		}
	})
	// Node A's policy: node B may have it listen on loopback only, and
	// open nothing else there.
	t.Run("policy", func(t *testing.T) {
		ctx := testkit.Context(t)
		for _, addr := range []string{"0.0.0.0:0", "[::]:0"} {
			_, err := g.listen(ctx, addr)
			if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), `rule "gateway"`) {
				t.Fatalf("listen on %s: %v, want a permission error naming the rule", addr, err)
			}
		}
		if _, err := tcp.DialAt(ctx, g.sys, g.node.addr, "127.0.0.1:9"); !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), `may not spawn "tcp.client"`) {
			t.Fatalf("a client on node A: %v, want a permission error", err)
		}
	})
}

// sendHugeLine sends a line of n bytes (the newline last) while reading
// what comes back: the gateway must answer "line too long" and close.
func sendHugeLine(addr string, n int) error {
	conn, err := net.DialTimeout("tcp", addr, testkit.Timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(testkit.Timeout))
	go func() {
		// Fails once the gateway closes: the rest goes nowhere.
		_, _ = conn.Write(append(bytes.Repeat([]byte("A"), n-1), '\n'))
	}()
	got, err := io.ReadAll(conn)
	if string(got) != tooLong || (err != nil && !errors.Is(err, syscall.ECONNRESET)) {
		return fmt.Errorf("huge line: got %q, %v; want %q, then the end of the stream or a reset", got, err, tooLong)
	}
	return nil
}

// sendAndHalfClose is one user of the half-close test.
func sendAndHalfClose(addr string, u, lines int) error {
	conn, err := net.DialTimeout("tcp", addr, testkit.Timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(testkit.Timeout))
	var sent bytes.Buffer
	for i := range lines {
		fmt.Fprintf(&sent, "user %d says hello %d\n", u, i)
	}
	fmt.Fprintf(&sent, "and user %d leaves", u) // no newline: answered too
	if _, err := conn.Write(sent.Bytes()); err != nil {
		return err
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	got, err := io.ReadAll(conn)
	if want := bytes.ToUpper(sent.Bytes()); err != nil || !bytes.Equal(got, want) {
		return fmt.Errorf("user %d: got %q, %v; want %q", u, got, err, want)
	}
	return nil
}

func TestGatewayBadFlags(t *testing.T) {
	if err := run(config{users: 0, lines: 5}, &strings.Builder{}); err == nil {
		t.Fatal("run with 0 users succeeded")
	}
}
