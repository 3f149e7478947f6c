package test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/test/testkit"
	"github.com/actornet/actornet/udp"
)

// nodeEnv makes this test binary run TestRemoteNodeProcess as node A.
const nodeEnv = "ACTORNET_TEST_NODE"

// TestRemoteNodeProcess is node A when this binary is started by
// TestRemoteSecondProcess: it starts a system with remote on loopback,
// prints its address, and runs until its stdin closes.
func TestRemoteNodeProcess(t *testing.T) {
	if os.Getenv(nodeEnv) == "" {
		t.Skip("node A of TestRemoteSecondProcess; runs only when started by it")
	}
	sys, err := actors.Start(actors.WithRemote(""), actors.WithRemotePolicy(actors.AllowAll))
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("NODE " + sys.Address() + "\n")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := sys.StopNow(); err != nil {
		t.Fatal(err)
	}
}

// startNode starts node A as a second OS process and returns its address
// and a kill for it; the process ends at cleanup, and must exit 0 (its own
// leak checks pass) unless it was killed.
func startNode(t *testing.T) (string, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRemoteNodeProcess$", "-test.v")
	cmd.Env = append(os.Environ(), nodeEnv+"=1")
	stdin, stdout, stderr := testkit.Piped(t, cmd)
	exited := make(chan error, 1)
	lines := bufio.NewScanner(stdout)
	addr := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if a, ok := strings.CutPrefix(lines.Text(), "NODE "); ok {
				addr <- a
			}
		}
		exited <- cmd.Wait()
	}()
	var killed atomic.Bool
	t.Cleanup(func() {
		stdin.Close()
		select {
		case err := <-exited:
			if err != nil && !killed.Load() {
				t.Errorf("node A: %v\n%s", err, stderr.String())
			}
		case <-time.After(testkit.Timeout):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("node A did not exit\n%s", stderr.String())
		}
	})
	kill := func() {
		killed.Store(true)
		_ = cmd.Process.Kill()
	}
	select {
	case a := <-addr:
		return a, kill
	case err := <-exited:
		t.Fatalf("node A exited before starting: %v\n%s", err, stderr.String())
	case <-time.After(testkit.Timeout):
		t.Fatal("node A did not start")
	}
	return "", kill
}

// TestRemoteSecondProcess: node A is another OS process; this process (node
// B) has it listen, connect a client to that listener, accept, exchange
// bytes both ways, withdraw a Recv, and bind a UDP peer, all through the
// handles local sockets use.
func TestRemoteSecondProcess(t *testing.T) {
	node, _ := startNode(t)
	b := testkit.System(t, actors.WithRemote(""), actors.WithRemotePolicy(actors.AllowAll))
	ctx := testkit.Context(t)
	// One remote system per test process (Proto.Actor's Start sets gRPC's
	// global logger, which -race reports against a second node's).
	t.Run("node gone", func(t *testing.T) { remoteNodeGone(t, b) })
	testkit.ForEachFamily(t, func(t *testing.T, addr string) {
		l, err := tcp.ListenAt(ctx, b, node, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close(ctx)
		c, err := tcp.NewClientAt(ctx, b, node)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if err := c.ConnectAddrPort(ctx, l.Addr()); err != nil {
			t.Fatal(err)
		}
		s, err := l.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(ctx)
		if s.PID().Address != node {
			t.Fatalf("accepted client lives at %s, want %s", s.PID().Address, node)
		}
		msg := bytes.Repeat([]byte("0123456789abcdef"), 8<<10)
		if n, err := c.Send(ctx, msg); err != nil || n != len(msg) {
			t.Fatalf("Send = %d, %v", n, err)
		}
		got, err := s.RecvExact(ctx, len(msg))
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("RecvExact: %d bytes, %v", len(got), err)
		}
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		_, err = s.Recv(short, 64)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("withdrawn Recv: %v", err)
		}
		if _, err := s.Send(ctx, []byte("reply")); err != nil {
			t.Fatal(err)
		}
		if got, err := c.RecvExact(ctx, 5); err != nil || string(got) != "reply" {
			t.Fatalf("client RecvExact = %q, %v", got, err)
		}

		p, err := udp.BindAt(ctx, b, node, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(ctx)
		if _, err := p.SendTo(ctx, p.LocalAddr(), []byte("self")); err != nil {
			t.Fatal(err)
		}
		if data, _, err := p.RecvFrom(ctx, 16); err != nil || string(data) != "self" {
			t.Fatalf("RecvFrom = %q, %v", data, err)
		}
	})
}

// remoteNodeGone: a request waiting on a node that goes away (here an
// Accept with no timeout on a listener of another node A, then that node
// killed) is answered, closed, rather than waited on for ever.
func remoteNodeGone(t *testing.T, b *actors.System) {
	nodeA, kill := startNode(t)
	ctx := testkit.Context(t)
	l, err := tcp.ListenAt(ctx, b, nodeA, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pending := l.AcceptAsync(0)
	kill()
	res, err := pending.Wait(ctx)
	if err == nil {
		err = res.GetStatus().Err()
	}
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept on a node that went away = %v; want closed", err)
	}
}
