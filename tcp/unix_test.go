package tcp

// Tests of Unix-domain stream sockets through the tcp actors: echo in pull
// and push mode, half-close (Go's net and a python3 client), read credit,
// the peer's credentials, the life of the socket file (in use, stale,
// not a socket, removed at close), path length, the abstract namespace,
// refused connects, a service restarting its listener, a remote node, and
// permission denied (as user nobody).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/test/testkit"
)

// unixPath returns the path of a socket file named name in a directory
// removed at cleanup: t.TempDir(), or a shorter one under os.TempDir()
// when t.TempDir()'s would make the path too long for a socket.
func unixPath(t testing.TB, name string) string {
	t.Helper()
	dir := t.TempDir()
	if len(dir)+1+len(name) > 100 {
		dir = shortDir(t)
	}
	return filepath.Join(dir, name)
}

// shortDir makes a directory with a short path, removed at cleanup.
func shortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "an")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// abstractName returns a name in Linux's abstract namespace ("@...") that
// no other test (or test process) uses.
func abstractName(t testing.TB) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "@actornet-test-" + hex.EncodeToString(b[:])
}

// forEachUnix runs f as a subtest per kind of Unix socket address: a
// file, and a name in the abstract namespace.
func forEachUnix(t *testing.T, f func(t *testing.T, path string)) {
	t.Run("file", func(t *testing.T) { f(t, unixPath(t, "s.sock")) })
	t.Run("abstract", func(t *testing.T) { f(t, abstractName(t)) })
}

// self is this process's identity, as SO_PEERCRED reports it.
func self() socket.Cred {
	return socket.Cred{PID: os.Getpid(), UID: os.Getuid(), GID: os.Getgid()}
}

// wantCred checks credentials against want.
func wantCred(t *testing.T, what string, got *messages.Credentials, want socket.Cred) {
	t.Helper()
	if c, ok := got.Cred(); !ok || c != want {
		t.Errorf("%s: peer %v (present %v); want %v", what, c, ok, want)
	}
}

// wantUnixError checks that err wraps want and is the OpError of op on
// the Unix socket at path, whose text names the path.
func wantUnixError(t *testing.T, what string, err, want error, op, path string) {
	t.Helper()
	var oe *socket.OpError
	switch {
	case !errors.Is(err, want):
		t.Errorf("%s: %v; want an error wrapping %v", what, err, want)
	case !errors.As(err, &oe) || oe.Op != op || oe.Net != "unix" || oe.Path != path:
		t.Errorf("%s: %v (%#v); want the OpError of %s unix %s", what, err, oe, op, path)
	case !strings.Contains(err.Error(), path):
		t.Errorf("%s: %q does not name the path %s", what, err, path)
	}
}

// wantInvalidAddr checks that err is an *socket.AddrError (wrapping
// socket.ErrInvalidAddress) whose text names path and contains reason.
func wantInvalidAddr(t *testing.T, what string, err error, path, reason string) {
	t.Helper()
	var ae *socket.AddrError
	if !errors.Is(err, socket.ErrInvalidAddress) || !errors.As(err, &ae) {
		t.Errorf("%s: %v; want an AddrError wrapping socket.ErrInvalidAddress", what, err)
		return
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), reason) {
		t.Errorf("%s: %q; want it to name %q and say %q", what, err, path, reason)
	}
}

// isSocketFile reports whether path is a socket file.
func isSocketFile(t *testing.T, path string) bool {
	t.Helper()
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}

// wantGone checks that nothing is left at path.
func wantGone(t *testing.T, what, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: %s is still there (%v)", what, path, err)
	}
}

// staleFile leaves a socket file at path that nobody listens on, as a
// process that died would.
func staleFile(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if !isSocketFile(t, path) {
		t.Fatalf("no stale socket file at %s", path)
	}
}

// listenUnix listens on the Unix socket at path, or fails the test.
func listenUnix(t *testing.T, sys *actors.System, path string, opts ...ListenOption) *Listener {
	t.Helper()
	l, err := Listen(testCtx(t), sys, socket.UnixPrefix+path, opts...)
	if err != nil {
		t.Fatalf("Listen unix:%s: %v", path, err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l
}

// accept accepts one connection on l, returning the AcceptResult too.
func accept(t *testing.T, l *Listener) (*Client, *messages.AcceptResult) {
	t.Helper()
	res, err := l.AcceptAsync(0).Wait(testCtx(t))
	c, err := l.Accepted(res, err)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c, res
}

// pattern returns n bytes that are not all alike.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// exchange sends msg from a to b and checks that b reads it whole.
func exchange(t *testing.T, what string, a, b *Client, msg []byte) {
	t.Helper()
	ctx := testCtx(t)
	got := b.RecvExactAsync(len(msg), 0)
	if n, err := a.Send(ctx, msg); err != nil || n != len(msg) {
		t.Fatalf("%s: Send = %d, %v", what, n, err)
	}
	res, err := got.Wait(ctx)
	if err == nil {
		err = res.GetStatus().Err()
	}
	if err != nil || !bytes.Equal(res.GetData(), msg) {
		t.Fatalf("%s: got %d of %d bytes, %v", what, len(res.GetData()), len(msg), err)
	}
}

// TestUnixEchoPushMode: a pull-mode client echoes 1 MiB (more than the
// socket buffers hold, so the echo queues) through a push-mode server on
// a file and on an abstract name; the listener and the connection report
// the path.
func TestUnixEchoPushMode(t *testing.T) {
	forEachUnix(t, func(t *testing.T, path string) {
		sys := newSystem(t)
		events := make(chan any, 1024)
		l := serve(t, sys, socket.UnixPrefix+path, testHandler(events, echoing))
		if l.Path() != path || l.Address() != socket.UnixPrefix+path || l.Addr().IsValid() {
			t.Fatalf("listener Path %q Address %q Addr %v; want %s, unix:%s, none", l.Path(), l.Address(), l.Addr(), path, path)
		}
		c := dial(t, sys, l.Address())
		conn := next[*messages.Connected](t, events)
		if conn.GetLocal().GetPath() != path || conn.GetLocal().Address() != l.Address() {
			t.Fatalf("Connected.Local = %v; want the path %s", conn.GetLocal(), path)
		}
		exchange(t, "1 MiB echo", c, c, pattern(1<<20))
		exchange(t, "a second echo", c, c, []byte("again"))
		st, err := l.Stats(testCtx(t))
		if err != nil || st.GetAccepted() != 1 || st.GetLive() != 1 {
			t.Fatalf("Stats = %v, %v; want 1 accepted, 1 live", st, err)
		}
	})
}

// TestUnixPullMode: Listen, Dial and Accept, then bytes both ways
// between the two pull-mode clients; the accepting side's close is the
// dialer's end of stream.
func TestUnixPullMode(t *testing.T) {
	forEachUnix(t, func(t *testing.T, path string) {
		sys := newSystem(t)
		l := listenUnix(t, sys, path)
		c := dial(t, sys, l.Address())
		s, res := accept(t, l)
		if res.GetLocal().GetPath() != path || res.GetRemote().IsUnix() {
			t.Errorf("AcceptResult local %v remote %v; want the path %s and no name", res.GetLocal(), res.GetRemote(), path)
		}
		exchange(t, "client to server", c, s, pattern(300<<10))
		exchange(t, "server to client", s, c, pattern(300<<10))
		if err := s.Close(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Recv(testCtx(t), 16); !errors.Is(err, io.EOF) {
			t.Fatalf("Recv after the peer closed: %v; want end of stream", err)
		}
	})
}

// TestUnixHalfClose: a client that sends everything and then shuts its
// write side gets every byte echoed before the server closes, on a file
// and on an abstract name: Go's net.UnixConn with CloseWrite, and a
// python3 client with sendall and shutdown(SHUT_WR), whose credentials
// (another process's) the server sees.
func TestUnixHalfClose(t *testing.T) {
	const size = 512 << 10 // more than the socket buffers: the echo queues
	sys := newSystem(t)
	paths := []string{unixPath(t, "half.sock"), abstractName(t)}
	events := map[string]chan any{}
	for _, path := range paths {
		events[path] = make(chan any, 1024)
		serve(t, sys, socket.UnixPrefix+path, testHandler(events[path], echoing))
	}

	t.Run("go", func(t *testing.T) {
		for _, path := range paths {
			c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(testTimeout))
			msg := pattern(size)
			read := make(chan []byte, 1)
			go func() {
				got, _ := io.ReadAll(c)
				read <- got
			}()
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if got := <-read; !bytes.Equal(got, msg) {
				t.Fatalf("%s: echo before close: %d of %d bytes", path, len(got), len(msg))
			}
			wantCred(t, "Connected.Peer of a Go client", next[*messages.Connected](t, events[path]).GetPeer(), self())
		}
	})

	t.Run("python3", func(t *testing.T) {
		python, err := exec.LookPath("python3")
		if err != nil {
			t.Skip("python3 not found")
		}
		// For each path it sends all, shuts its write side, reads to the
		// end, and prints its pid, the bytes it read and whether the echo
		// was whole.
		const script = `
import os, socket, sys
n = int(sys.argv[1])
data = (bytes(range(251)) * (n // 251 + 1))[:n]
for path in sys.argv[2:]:
    if path.startswith('@'):
        path = '\0' + path[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = bytearray()
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
    s.close()
    print(os.getpid(), len(got), 'whole' if got == data else 'differs')
`
		cmd := exec.CommandContext(testCtx(t), python, append([]string{"-c", script, strconv.Itoa(size)}, paths...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("python3: %v\n%s", err, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != len(paths) {
			t.Fatalf("python3 client: %q; want a line per path", out)
		}
		for i, path := range paths {
			f := strings.Fields(lines[i])
			if len(f) != 3 || f[1] != strconv.Itoa(size) || f[2] != "whole" {
				t.Fatalf("python3 client on %s: %q; want %d bytes echoed whole", path, lines[i], size)
			}
			pid, _ := strconv.Atoi(f[0])
			wantCred(t, "Connected.Peer of the python3 client", next[*messages.Connected](t, events[path]).GetPeer(),
				socket.Cred{PID: pid, UID: os.Getuid(), GID: os.Getgid()})
		}
	})
}

// TestUnixReadCredit: a handler that retains every buffer gets exactly
// WithReadCredit Received and the connection stops reading (a client's
// send times out); once it lets go of them, reading resumes and every
// byte the client sent arrives.
func TestUnixReadCredit(t *testing.T) {
	const credit, readSize = 2, 4096
	sys := newSystem(t)
	conns := make(chan *actor.PID, 1) // the connection, at Connected
	received := make(chan int, 64)    // the bytes of each Received
	total := make(chan int, 1)        // the bytes received in all, at PeerClosed
	type release struct{}
	var held []Loan
	hoarding, sum := true, 0
	h := HandlerFunc(func(c *Conn, msg any) {
		switch m := msg.(type) {
		case *messages.Connected:
			conns <- c.PID()
		case *messages.Received:
			sum += len(m.GetData())
			if hoarding {
				held = append(held, c.Retain())
				select {
				case received <- len(m.GetData()):
				default: // more than 64: the count is wrong already
				}
			}
		case release:
			hoarding = false
			for _, l := range held {
				l.Release()
			}
			held = nil
		case *messages.PeerClosed:
			total <- sum
		}
	})
	l := serve(t, sys, socket.UnixPrefix+unixPath(t, "credit.sock"), h, WithReadCredit(credit), WithReadSize(readSize))
	c := dial(t, sys, l.Address())
	var conn *actor.PID
	select {
	case conn = <-conns:
	case <-testCtx(t).Done():
		t.Fatal("no Connected")
	}
	offer := make([]byte, 8<<20)
	sent, err := c.Send(within(t, 50*time.Millisecond), offer)
	if !errors.Is(err, os.ErrDeadlineExceeded) || sent >= len(offer) {
		t.Fatalf("Send of 8 MiB to a connection that stopped reading = %d, %v; want a timeout", sent, err)
	}
	got, bytesIn := 0, 0
	for drained := false; !drained; {
		select {
		case n := <-received:
			got++
			bytesIn += n
		default:
			drained = true
		}
	}
	if got != credit || bytesIn > credit*readSize {
		t.Fatalf("handler got %d Received (%d bytes) while retaining; want exactly %d, at most %d bytes", got, bytesIn, credit, credit*readSize)
	}
	// Let go: the connection reads the rest of what was sent.
	sys.Root().Send(conn, release{})
	if err := c.Shutdown(testCtx(t), actors.ShutdownWrite); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-total:
		if n != sent {
			t.Fatalf("the server received %d bytes in all; the client sent %d", n, sent)
		}
	case <-testCtx(t).Done():
		t.Fatal("reading never resumed after the handler released its buffers")
	}
}

// TestUnixPeerCredentials: the peer's pid, uid and gid (this process's)
// in push mode's Connected and Conn.PeerCred, in pull mode's
// AcceptResult, and in the Info of every socket actor of the connection:
// the push-mode connection, the accepted client and the dialer (whose
// peer is the listener, in this process too). A TCP connection has none.
func TestUnixPeerCredentials(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	path := unixPath(t, "cred.sock")

	t.Run("push", func(t *testing.T) {
		events := make(chan any, 64)
		type peerCred struct {
			cred socket.Cred
			ok   bool
		}
		creds := make(chan peerCred, 4)
		onConnected := func(c *Conn, msg any) {
			if _, ok := msg.(*messages.Connected); ok {
				cred, ok := c.PeerCred()
				creds <- peerCred{cred, ok}
			}
		}
		l := serve(t, sys, socket.UnixPrefix+path, testHandler(events, onConnected))
		c := dial(t, sys, l.Address())
		conn := next[*messages.Connected](t, events)
		wantCred(t, "Connected.Peer", conn.GetPeer(), self())
		if got := <-creds; got.cred != self() || !got.ok {
			t.Errorf("Conn.PeerCred = %v, %v; want %v, true", got.cred, got.ok, self())
		}
		cs := actors.SocketOf(sys, conn.GetConnection().PID())
		in, err := cs.Info(ctx)
		if err != nil || in.GetDomain() != messages.Domain_DOMAIN_UNIX || in.GetLocal().GetPath() != path {
			t.Fatalf("connection Info = %v, %v; want domain unix, local %s", in, err, path)
		}
		wantCred(t, "connection Info.Peer", in.GetPeer(), self())
		in, err = c.Info(ctx)
		if err != nil || in.GetDomain() != messages.Domain_DOMAIN_UNIX || in.GetRemote().GetPath() != path || in.GetType() != "stream" {
			t.Fatalf("dialer Info = %v, %v; want a unix stream socket, remote %s", in, err, path)
		}
		wantCred(t, "dialer Info.Peer", in.GetPeer(), self())
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("pull", func(t *testing.T) {
		l := listenUnix(t, sys, path)
		dial(t, sys, l.Address())
		s, res := accept(t, l)
		wantCred(t, "AcceptResult.Peer", res.GetPeer(), self())
		in, err := s.Info(ctx)
		if err != nil || in.GetDomain() != messages.Domain_DOMAIN_UNIX || in.GetLocal().GetPath() != path {
			t.Fatalf("accepted Info = %v, %v; want domain unix, local %s", in, err, path)
		}
		wantCred(t, "accepted Info.Peer", in.GetPeer(), self())
		in, err = l.Info(ctx)
		if err != nil || in.GetDomain() != messages.Domain_DOMAIN_UNIX || in.GetLocal().GetPath() != path {
			t.Fatalf("listener Info = %v, %v; want domain unix, local %s", in, err, path)
		}
	})

	t.Run("tcp has none", func(t *testing.T) {
		events := make(chan any, 64)
		creds := make(chan bool, 1)
		l := serve(t, sys, "127.0.0.1:0", testHandler(events, func(c *Conn, msg any) {
			if _, ok := msg.(*messages.Connected); ok {
				_, ok := c.PeerCred()
				creds <- ok
			}
		}))
		dial(t, sys, l.Address())
		if conn := next[*messages.Connected](t, events); conn.GetPeer() != nil {
			t.Errorf("a TCP connection's Connected.Peer = %v; want none", conn.GetPeer())
		}
		if <-creds {
			t.Error("a TCP connection's Conn.PeerCred is ok")
		}
	})
}

// TestUnixPathInUse: a path a live listener holds is refused to a second
// Listen, Serve and StartService, with EADDRINUSE, the reason and the
// path; the first listener's file is left alone and it goes on serving.
func TestUnixPathInUse(t *testing.T) {
	forEachUnix(t, func(t *testing.T, path string) {
		sys := newSystem(t)
		ctx := testCtx(t)
		addr := socket.UnixPrefix + path
		l := serve(t, sys, addr, HandlerFunc(echoing))
		var pinned string
		if !socket.IsAbstract(path) {
			pinned = pin(t, path)
		}
		wantInUse := func(what string, err error) {
			t.Helper()
			wantUnixError(t, what, err, syscall.EADDRINUSE, "listen", path)
			if !socket.IsAbstract(path) && err != nil && !strings.Contains(err.Error(), "(a live socket listens there)") {
				t.Errorf("%s: %q does not give the reason", what, err)
			}
		}
		_, err := Listen(ctx, sys, addr)
		wantInUse("a second Listen", err)
		_, err = Serve(ctx, sys, addr, HandlerFunc(echoing))
		wantInUse("Serve", err)
		_, err = StartService(ctx, sys, addr, HandlerFunc(echoing))
		wantInUse("StartService", err)
		if pinned != "" && !sameFile(t, path, pinned) {
			t.Fatal("the live listener's socket file was replaced")
		}
		c := dial(t, sys, l.Address())
		exchange(t, "the first listener after the refusals", c, c, []byte("still here"))
	})
}

// TestUnixRefusedListenLeavesNoTrace: a Listen refused because a live
// listener holds the path must not disturb that listener. It did before it was fixed:
// BindUnix's stale-file probe (socket/unix_linux.go, staleFile) connects
// to the live listener to find it alive, and that connection stays in the
// listener's backlog, so the next Accept returns the probe (already
// closed, end of stream) instead of the next client, and a push-mode
// listener counts and serves a connection nobody made.
func TestUnixRefusedListenLeavesNoTrace(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	t.Run("pull", func(t *testing.T) {
		l := listenUnix(t, sys, unixPath(t, "pull.sock"))
		if _, err := Listen(ctx, sys, l.Address()); !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("a second Listen: %v; want EADDRINUSE", err)
		}
		c := dial(t, sys, l.Address())
		if _, err := c.Send(ctx, []byte("first")); err != nil {
			t.Fatal(err)
		}
		s, _ := accept(t, l)
		if got, err := s.RecvExact(within(t, time.Second), 5); err != nil || string(got) != "first" {
			t.Fatalf("the live listener's next connection read %q, %v; want the client's \"first\"", got, err)
		}
	})
	t.Run("push", func(t *testing.T) {
		events := make(chan any, 64)
		l := serve(t, sys, socket.UnixPrefix+unixPath(t, "push.sock"), testHandler(events, echoing))
		if _, err := Listen(ctx, sys, l.Address()); !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("a second Listen: %v; want EADDRINUSE", err)
		}
		c := dial(t, sys, l.Address())
		exchange(t, "echo", c, c, []byte("only me"))
		if st, err := l.Stats(ctx); err != nil || st.GetAccepted() != 1 {
			t.Fatalf("Stats = %v, %v; want the one client accepted", st, err)
		}
	})
}

// pin makes a hard link to the file at path, so that its inode cannot be
// reused while the test runs, and returns the link's path.
func pin(t *testing.T, path string) string {
	t.Helper()
	link := path + ".pin"
	if err := os.Link(path, link); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(link) })
	return link
}

// sameFile reports whether a and b are the same file.
func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	fa, err := os.Lstat(a)
	if err != nil {
		return false
	}
	fb, err := os.Lstat(b)
	if err != nil {
		t.Fatal(err)
	}
	return os.SameFile(fa, fb)
}

// TestUnixStaleFileReplaced: a socket file nobody listens on (left by a
// process that died) is replaced by a new listener, which serves there
// and removes its file when it closes.
func TestUnixStaleFileReplaced(t *testing.T) {
	sys := newSystem(t)
	path := unixPath(t, "stale.sock")
	staleFile(t, path)
	old := pin(t, path)
	l := listenUnix(t, sys, path)
	if !isSocketFile(t, path) || sameFile(t, path, old) {
		t.Fatal("the stale socket file is still there; want a new one")
	}
	c := dial(t, sys, l.Address())
	s, _ := accept(t, l)
	exchange(t, "through the replaced file", c, s, []byte("fresh"))
	if err := l.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	wantGone(t, "after Close", path)
}

// TestUnixNotASocket: a path that holds a regular file or a directory is
// refused (EADDRINUSE, with the reason) and left as it was; a dial to a
// regular file is refused.
func TestUnixNotASocket(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	file := unixPath(t, "regular")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := unixPath(t, "dir")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{file, dir} {
		_, err := Listen(ctx, sys, socket.UnixPrefix+path)
		wantUnixError(t, "Listen on "+path, err, syscall.EADDRINUSE, "listen", path)
		if err != nil && !strings.Contains(err.Error(), "(a file that is not a socket is there)") {
			t.Errorf("Listen on %s: %q does not give the reason", path, err)
		}
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep me" {
		t.Fatalf("the regular file now holds %q, %v", b, err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("the directory: %v, %v", fi, err)
	}
	_, err := Dial(ctx, sys, socket.UnixPrefix+file)
	wantUnixError(t, "Dial to a regular file", err, syscall.ECONNREFUSED, "connect", file)
}

// TestUnixPathLength: a path of 107 bytes (the limit: sun_path less its
// NUL) listens and connects, as a file and as an abstract name ('@'
// counted); one of 108 bytes is refused by Listen, Serve and Dial with an
// AddrError naming it, and no file is made. Empty names and NUL bytes are
// refused too.
func TestUnixPathLength(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	dir := shortDir(t)
	file := func(n int) string {
		p := dir + "/"
		return p + strings.Repeat("f", n-len(p))
	}
	for _, tt := range []struct{ name, ok, long string }{
		{"file", file(socket.MaxUnixPath), file(socket.MaxUnixPath + 1)},
		{"abstract", "@" + strings.Repeat("x", socket.MaxUnixPath-1), "@" + strings.Repeat("x", socket.MaxUnixPath)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.ok) != 107 || len(tt.long) != 108 {
				t.Fatalf("lengths %d and %d", len(tt.ok), len(tt.long))
			}
			l := listenUnix(t, sys, tt.ok)
			c := dial(t, sys, l.Address())
			s, _ := accept(t, l)
			exchange(t, "at 107 bytes", c, s, []byte("fits"))

			_, err := Listen(ctx, sys, socket.UnixPrefix+tt.long)
			wantInvalidAddr(t, "Listen at 108 bytes", err, tt.long, "108 bytes")
			_, err = Serve(ctx, sys, socket.UnixPrefix+tt.long, HandlerFunc(echoing))
			wantInvalidAddr(t, "Serve at 108 bytes", err, tt.long, "108 bytes")
			_, err = Dial(ctx, sys, socket.UnixPrefix+tt.long)
			wantInvalidAddr(t, "Dial at 108 bytes", err, tt.long, "108 bytes")
			if !socket.IsAbstract(tt.long) {
				wantGone(t, "a refused 108-byte path", tt.long)
			}
		})
	}
	for _, bad := range []string{"unix:", "unix:@", "unix:/tmp/nul\x00byte"} {
		if _, err := Listen(ctx, sys, bad); !errors.Is(err, socket.ErrInvalidAddress) {
			t.Errorf("Listen %q: %v; want an invalid address", bad, err)
		}
		if _, err := Dial(ctx, sys, bad); !errors.Is(err, socket.ErrInvalidAddress) {
			t.Errorf("Dial %q: %v; want an invalid address", bad, err)
		}
	}
}

// TestUnixAbstractMakesNoFile: a listener on an abstract name makes no
// file (neither "@name" nor "name" in the working directory); the kernel
// lists the name while it listens, and not after Close.
func TestUnixAbstractMakesNoFile(t *testing.T) {
	sys := newSystem(t)
	name := abstractName(t)
	listed := func() bool {
		b, err := os.ReadFile("/proc/net/unix")
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Contains(b, []byte(" "+name+"\n"))
	}
	l := listenUnix(t, sys, name)
	if !listed() {
		t.Fatalf("/proc/net/unix does not list %s", name)
	}
	wantGone(t, "abstract name", name)
	wantGone(t, "abstract name", name[1:])
	if err := l.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if listed() {
		t.Fatalf("/proc/net/unix still lists %s after Close", name)
	}
}

// TestUnixAcceptedClientErrorsNameThePath: the errors of a client
// accepted on a Unix listener are unix ones naming the listener's path,
// as the dialer's are. Before the fix they read "recv tcp: EOF": acceptedProps
// (tcp/listener_actor.go) never sets the client actor's path, so its
// status falls back to TCP's.
func TestUnixAcceptedClientErrorsNameThePath(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	path := unixPath(t, "acc.sock")
	l := listenUnix(t, sys, path)
	c := dial(t, sys, l.Address())
	s, _ := accept(t, l)
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := s.Recv(ctx, 16)
	wantUnixError(t, "the accepted client's Recv at end of stream", err, io.EOF, "recv", path)
}

// TestUnixDialerErrorsNameThePath: a dialer's errors after connecting
// are unix ones naming the path it dialed.
func TestUnixDialerErrorsNameThePath(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	path := unixPath(t, "dialer.sock")
	l := listenUnix(t, sys, path)
	c := dial(t, sys, l.Address())
	s, _ := accept(t, l)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := c.Recv(ctx, 16)
	wantUnixError(t, "the dialer's Recv at end of stream", err, io.EOF, "recv", path)
}

// TestUnixFileRemovedAtClose: the socket file a listener made is removed
// when it closes, however it closes: Close of a pull-mode or push-mode
// listener, Stop of a service, Stop of the system, a crash of the
// listener actor. A file someone else put at the path meanwhile (another
// listener's) is not removed.
func TestUnixFileRemovedAtClose(t *testing.T) {
	closers := []struct {
		name  string
		close func(t *testing.T, sys *actors.System, addr string)
	}{
		{"listener Close", func(t *testing.T, sys *actors.System, addr string) {
			l, err := Listen(testCtx(t), sys, addr)
			if err != nil {
				t.Fatal(err)
			}
			wantSocketFile(t, l.Path())
			if err := l.Close(testCtx(t)); err != nil {
				t.Fatal(err)
			}
		}},
		{"push-mode listener Close", func(t *testing.T, sys *actors.System, addr string) {
			l, err := Serve(testCtx(t), sys, addr, HandlerFunc(echoing))
			if err != nil {
				t.Fatal(err)
			}
			wantSocketFile(t, l.Path())
			if err := l.Close(testCtx(t)); err != nil {
				t.Fatal(err)
			}
		}},
		{"service Stop", func(t *testing.T, sys *actors.System, addr string) {
			svc, err := StartService(testCtx(t), sys, addr, HandlerFunc(echoing))
			if err != nil {
				t.Fatal(err)
			}
			if svc.Address() != addr || svc.Addr().IsValid() {
				t.Errorf("service Address %q, Addr %v; want %s and none", svc.Address(), svc.Addr(), addr)
			}
			wantSocketFile(t, svc.Path())
			c := dial(t, sys, svc.Address())
			exchange(t, "through the service", c, c, []byte("svc"))
			if err := svc.Stop(testCtx(t)); err != nil {
				t.Fatal(err)
			}
		}},
		{"system Stop", func(t *testing.T, _ *actors.System, addr string) {
			sys, err := actors.Start()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sys.StopNow() }) // if the test fails first
			l, err := Serve(testCtx(t), sys, addr, HandlerFunc(echoing))
			if err != nil {
				t.Fatal(err)
			}
			wantSocketFile(t, l.Path())
			if err := sys.StopNow(); err != nil {
				t.Fatal(err)
			}
		}},
		{"listener crash", func(t *testing.T, sys *actors.System, addr string) {
			l, err := Listen(testCtx(t), sys, addr)
			if err != nil {
				t.Fatal(err)
			}
			wantSocketFile(t, l.Path())
			sys.Root().Send(l.PID(), &messages.InjectFault{})
			testkit.WaitStopped(t, sys, l.PID())
		}},
	}
	for _, tt := range closers {
		t.Run(tt.name, func(t *testing.T) {
			sys := newSystem(t, actors.WithFaultInjection())
			path := unixPath(t, "gone.sock")
			tt.close(t, sys, socket.UnixPrefix+path)
			wantGone(t, "after "+tt.name, path)
		})
	}

	t.Run("not another's file", func(t *testing.T) {
		sys := newSystem(t)
		path := unixPath(t, "theirs.sock")
		first := listenUnix(t, sys, path)
		if err := os.Remove(path); err != nil { // someone removes it...
			t.Fatal(err)
		}
		second := listenUnix(t, sys, path) // ...and listens there
		if err := first.Close(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		wantSocketFile(t, path)
		c := dial(t, sys, second.Address())
		s, _ := accept(t, second)
		exchange(t, "the second listener after the first closed", c, s, []byte("mine"))
	})
}

// wantSocketFile checks that path is a socket file.
func wantSocketFile(t *testing.T, path string) {
	t.Helper()
	if !isSocketFile(t, path) {
		t.Fatalf("no socket file at %s", path)
	}
}

// TestUnixConnectRefused: a dial to a socket file nobody listens on is
// refused (ECONNREFUSED), to a path with no file fails with ENOENT, to an
// abstract name nobody holds is refused; each error is the connect's and
// names the path, and ConnectAsync's result says the same.
func TestUnixConnectRefused(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	stale := unixPath(t, "stale.sock")
	staleFile(t, stale)
	for _, tt := range []struct {
		name, path string
		want       error
		status     messages.ConnectStatus
	}{
		{"stale file", stale, syscall.ECONNREFUSED, messages.ConnectStatus_CONNECT_STATUS_REFUSED},
		{"no file", unixPath(t, "none.sock"), syscall.ENOENT, messages.ConnectStatus_CONNECT_STATUS_ERROR},
		{"abstract", abstractName(t), syscall.ECONNREFUSED, messages.ConnectStatus_CONNECT_STATUS_REFUSED},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Dial(ctx, sys, socket.UnixPrefix+tt.path)
			wantUnixError(t, "Dial", err, tt.want, "connect", tt.path)
			c, err := NewClient(sys)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			res, err := c.ConnectAsync(socket.UnixPrefix+tt.path, 0).Wait(ctx)
			if err != nil || res.GetStatus() != tt.status {
				t.Fatalf("ConnectAsync = %v, %v; want status %v", res, err, tt.status)
			}
			wantUnixError(t, "ConnectResult.Error", res.GetError().Err(), tt.want, "connect", tt.path)
		})
	}
}

// TestUnixServiceSurvivesListenerCrash: a service on a Unix path whose
// listener crashes starts a new one on the same path (ListenerRestarted
// says which); the connection open at the crash lives on, new ones reach
// the new listener, and Stop removes the file.
func TestUnixServiceSurvivesListenerCrash(t *testing.T) {
	forEachUnix(t, func(t *testing.T, path string) {
		sys := newSystem(t, actors.WithFaultInjection())
		ctx := testCtx(t)
		svc, err := StartService(ctx, sys, socket.UnixPrefix+path, HandlerFunc(echoing))
		if err != nil {
			t.Fatal(err)
		}
		if svc.Path() != path {
			t.Fatalf("service Path = %q; want %s", svc.Path(), path)
		}
		before := dial(t, sys, svc.Address())
		exchange(t, "before the crash", before, before, []byte("one"))
		info, err := svc.Info(ctx)
		if err != nil || info.GetLocal().GetPath() != path {
			t.Fatalf("service Info = %v, %v; want local %s", info, err, path)
		}
		restarted := make(chan *ListenerRestarted, 1)
		sub := sys.Actors.EventStream.Subscribe(func(evt any) {
			if r, ok := evt.(*ListenerRestarted); ok {
				restarted <- r
			}
		})
		defer sys.Actors.EventStream.Unsubscribe(sub)
		sys.Root().Send(info.GetListener().PID(), &messages.InjectFault{})
		select {
		case r := <-restarted:
			if r.Old.Id != info.GetListener().GetId() || r.Path != path || r.Addr.IsValid() {
				t.Fatalf("ListenerRestarted = %+v; want the old listener, path %s", r, path)
			}
		case <-ctx.Done():
			t.Fatal("the service never replaced its crashed listener")
		}
		exchange(t, "the connection open at the crash", before, before, []byte("two"))
		after := dial(t, sys, svc.Address())
		exchange(t, "a connection after the crash", after, after, []byte("three"))
		if in, err := svc.Info(ctx); err != nil || in.GetRestarts() != 1 {
			t.Fatalf("Info = %v, %v; want 1 restart", in, err)
		}
		if err := svc.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if !socket.IsAbstract(path) {
			wantGone(t, "after Stop", path)
		}
	})
}

// TestUnixIPOptionsRefused: options that mean nothing on a Unix socket
// (keepalive, port reuse, IPv6-only) make Listen and Serve fail with an
// invalid argument naming the path, and leave no file behind; the options
// that do apply (backlog, buffers, linger) are taken.
func TestUnixIPOptionsRefused(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	path := unixPath(t, "opts.sock")
	addr := socket.UnixPrefix + path
	for name, opt := range unixIPOptions {
		t.Run(name, func(t *testing.T) {
			_, err := Listen(ctx, sys, addr, opt)
			wantUnixError(t, "Listen", err, socket.ErrInvalidArgument, "listen", path)
			_, err = Serve(ctx, sys, addr, HandlerFunc(echoing), opt)
			wantUnixError(t, "Serve", err, socket.ErrInvalidArgument, "listen", path)
			wantGone(t, "after a refused option", path)
		})
	}
	l := listenUnix(t, sys, path, WithBacklog(4), WithBuffers(64<<10, 64<<10), WithLinger(time.Second))
	c, err := Dial(ctx, sys, l.Address(), WithBuffers(64<<10, 64<<10), WithLinger(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	s, _ := accept(t, l)
	exchange(t, "with buffers and linger", c, s, []byte("ok"))
}

// unixIPOptions are options of IP sockets only, by the words an error
// refusing each on a Unix socket should name it by.
var unixIPOptions = map[string]ListenOption{
	"WithKeepAlive": WithKeepAlive(socket.KeepAlive{Enable: true, Idle: time.Minute}),
	"WithReusePort": WithReusePort(true),
	"WithV6Only":    WithV6Only(true),
}

// TestUnixIPOptionErrorsNameTheOption: the refusal of an IP-only option
// on a Unix socket says which option, at Listen as at Dial. Before the fix
// Listen's reason (unixOptions in tcp/listener_actor.go: "WithKeepAlive
// does not apply to a Unix socket") is lost on the way back, as the
// Status keeps no text of a plain wrapped error: the caller reads "listen
// unix PATH: invalid argument"; and Dial checks nothing: WithKeepAlive
// gets "connect unix PATH: operation not supported" from setsockopt
// TCP_KEEPIDLE.
func TestUnixIPOptionErrorsNameTheOption(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	path := unixPath(t, "opts.sock")
	for name, opt := range unixIPOptions {
		if _, err := Listen(ctx, sys, socket.UnixPrefix+path, opt); !strings.Contains(fmt.Sprint(err), name) {
			t.Errorf("Listen with %s: %v; want it named", name, err)
		}
	}
	l := listenUnix(t, sys, path)
	_, err := Dial(ctx, sys, l.Address(), WithKeepAlive(socket.KeepAlive{Enable: true, Idle: time.Minute}))
	if !errors.Is(err, socket.ErrInvalidArgument) || !strings.Contains(fmt.Sprint(err), "WithKeepAlive") {
		t.Errorf("Dial with WithKeepAlive: %v; want an invalid argument naming WithKeepAlive", err)
	}
}

// TestUnixNetConn: a NetConn over a Unix client speaks *net.UnixAddr,
// as Go's net.UnixConn does, dialed or accepted.
func TestUnixNetConn(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	path := unixPath(t, "net.sock")
	l := listenUnix(t, sys, path)
	nc, err := NewNetConn(ctx, dial(t, sys, l.Address()))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if ra, ok := nc.RemoteAddr().(*net.UnixAddr); !ok || ra.Name != path || ra.Network() != "unix" {
		t.Errorf("dialer NetConn.RemoteAddr = %#v; want a *net.UnixAddr %s", nc.RemoteAddr(), path)
	}
	s, _ := accept(t, l)
	sc, err := NewNetConn(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if la, ok := sc.LocalAddr().(*net.UnixAddr); !ok || la.Name != path {
		t.Errorf("accepted NetConn.LocalAddr = %#v; want a *net.UnixAddr %s", sc.LocalAddr(), path)
	}
	if _, err := nc.Write([]byte("net")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := io.ReadFull(sc, buf); err != nil || string(buf) != "net" {
		t.Fatalf("read %q, %v", buf, err)
	}
}

// TestUnixNetListenerAddr: a NetListener over a Unix listener reports a
// *net.UnixAddr, as Go's net.UnixListener does. Before the fix NewNetListener
// (tcp/netlistener.go) always makes a *net.TCPAddr from l.Addr(), the
// zero AddrPort for a Unix listener: Addr() reads ":0".
func TestUnixNetListenerAddr(t *testing.T) {
	sys := newSystem(t)
	path := unixPath(t, "netl.sock")
	nl := NewNetListener(listenUnix(t, sys, path))
	if la, ok := nl.Addr().(*net.UnixAddr); !ok || la.Name != path {
		t.Errorf("NetListener.Addr = %#v (%v); want a *net.UnixAddr %s", nl.Addr(), nl.Addr(), path)
	}
}

// unixNodeEnv makes this test binary run TestUnixNodeProcess as node A
// of TestUnixRemote.
const unixNodeEnv = "ACTORNET_TEST_UNIX_NODE"

// TestUnixNodeProcess is node A when this binary is started by
// TestUnixRemote: it starts a system with remote on loopback, prints its
// address and pid, and runs until its stdin closes.
func TestUnixNodeProcess(t *testing.T) {
	if os.Getenv(unixNodeEnv) == "" {
		t.Skip("node A of TestUnixRemote; runs only when started by it")
	}
	sys, err := actors.Start(actors.WithRemote(""))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("NODE %s %d\n", sys.Address(), os.Getpid())
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := sys.StopNow(); err != nil {
		t.Fatal(err)
	}
}

// startUnixNode starts node A as a second OS process (one process cannot
// hold two remote nodes under -race: Proto.Actor's remote sets gRPC's
// global logger) and returns its address and pid. It ends at cleanup and
// must exit 0: its own leak checks pass.
func startUnixNode(t *testing.T) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestUnixNodeProcess$", "-test.count=1")
	cmd.Env = append(childEnv(), unixNodeEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	node := make(chan []string, 1)
	exited := make(chan error, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if f := strings.Fields(lines.Text()); len(f) == 3 && f[0] == "NODE" {
				node <- f[1:]
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("node A: %v\n%s", err, stderr.String())
			}
		case <-time.After(testTimeout):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("node A did not exit\n%s", stderr.String())
		}
	})
	select {
	case f := <-node:
		pid, _ := strconv.Atoi(f[1])
		return f[0], pid
	case err := <-exited:
		t.Fatalf("node A exited before starting: %v\n%s", err, stderr.String())
	case <-time.After(testTimeout):
		t.Fatal("node A did not start")
	}
	return "", 0
}

// childEnv is the environment of a test process this one starts: its
// own, but that the race detector's exit does not sleep a second.
func childEnv() []string {
	return append(os.Environ(), "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
}

// TestUnixRemote: this process (node B) has node A, another process,
// listen on a Unix path and dial it (tcp.ListenAt, tcp.DialAt with a
// "unix:" address: the path travels in the messages); the accepted
// client lives on node A and its peer is node A's process; a client of
// node B dials node A's listener too and its peer is this process; bytes
// go both ways; closing the listener from node B removes node A's file.
func TestUnixRemote(t *testing.T) {
	node, nodePID := startUnixNode(t)
	b := newSystem(t, actors.WithRemote(""))
	ctx := testCtx(t)
	path := unixPath(t, "remote.sock")
	l, err := ListenAt(ctx, b, node, socket.UnixPrefix+path)
	if err != nil {
		t.Fatal(err)
	}
	if l.PID().Address != node || l.Path() != path || l.Address() != socket.UnixPrefix+path {
		t.Fatalf("listener at %s, Path %q, Address %q; want node A %s, %s", l.PID().Address, l.Path(), l.Address(), node, path)
	}
	wantSocketFile(t, path)

	c, err := DialAt(ctx, b, node, l.Address())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	s, res := accept(t, l)
	if c.PID().Address != node || s.PID().Address != node {
		t.Fatalf("dialer at %s, accepted client at %s; want both on node A %s", c.PID().Address, s.PID().Address, node)
	}
	wantCred(t, "AcceptResult.Peer of node A's dialer", res.GetPeer(), socket.Cred{PID: nodePID, UID: os.Getuid(), GID: os.Getgid()})
	if in, err := c.Info(ctx); err != nil || in.GetDomain() != messages.Domain_DOMAIN_UNIX || in.GetRemote().GetPath() != path {
		t.Fatalf("node A's dialer Info = %v, %v; want domain unix, remote %s", in, err, path)
	}
	exchange(t, "node A's dialer to its accepted client", c, s, pattern(64<<10))
	exchange(t, "back", s, c, pattern(64<<10))

	local := dial(t, b, l.Address())
	s2, res := accept(t, l)
	wantCred(t, "AcceptResult.Peer of node B's dialer", res.GetPeer(), self())
	exchange(t, "node B's dialer to node A's accepted client", local, s2, []byte("across"))
	exchange(t, "back", s2, local, []byte("and back"))

	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wantGone(t, "after node B closed node A's listener", path)
}

// unixNobodyEnv makes this test binary run TestUnixNobodyProcess, as user
// nobody, for TestUnixPermissionDenied: its value is the directory to
// listen in and the socket to dial, separated by a newline.
const unixNobodyEnv = "ACTORNET_TEST_UNIX_NOBODY"

// nobody is the uid and gid of user nobody.
const nobody = 65534

// TestUnixNobodyProcess runs the checks of TestUnixPermissionDenied as
// user nobody, when this binary is started by it.
func TestUnixNobodyProcess(t *testing.T) {
	v := os.Getenv(unixNobodyEnv)
	if v == "" {
		t.Skip("runs only when started by TestUnixPermissionDenied")
	}
	if os.Getuid() != nobody {
		t.Fatalf("running as uid %d; want %d", os.Getuid(), nobody)
	}
	dir, sock, _ := strings.Cut(v, "\n")
	permissionDenied(t, dir, sock)
	if !t.Failed() {
		fmt.Println("CHECKED AS NOBODY")
	}
}

// permissionDenied checks, as a user who may not write in dir nor search
// the directory of sock (a live listener's), that a Listen in dir and a
// Dial to sock fail with EACCES naming the path, and that Listen leaves
// nothing in dir.
func permissionDenied(t *testing.T, dir, sock string) {
	sys := newSystem(t)
	ctx := testCtx(t)
	path := filepath.Join(dir, "s.sock")
	_, err := Listen(ctx, sys, socket.UnixPrefix+path)
	wantUnixError(t, "Listen in a directory this user may not write", err, syscall.EACCES, "listen", path)
	_, err = Serve(ctx, sys, socket.UnixPrefix+path, HandlerFunc(echoing))
	wantUnixError(t, "Serve in a directory this user may not write", err, syscall.EACCES, "listen", path)
	wantGone(t, "a refused Listen", path)
	_, err = Dial(ctx, sys, socket.UnixPrefix+sock)
	wantUnixError(t, "Dial into a directory this user may not search", err, syscall.EACCES, "connect", sock)
}

// TestUnixPermissionDenied: Listen in a directory the user may not write,
// and Dial to a socket in a directory it may not search, fail with EACCES
// naming the path. Root passes every permission check, so as root the
// checks run in a copy of this test binary started as user nobody, in a
// directory nobody can reach (mode 0755).
func TestUnixPermissionDenied(t *testing.T) {
	sys := newSystem(t)
	base := shortDir(t)
	readOnly := filepath.Join(base, "ro")
	private := filepath.Join(base, "priv")
	for dir, mode := range map[string]os.FileMode{readOnly: 0o755, private: 0o700} {
		if err := os.Mkdir(dir, mode); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(private, "s.sock")
	l := serve(t, sys, socket.UnixPrefix+sock, HandlerFunc(echoing))
	// Anyone may connect to the socket itself: only its directory keeps
	// others out.
	if err := os.Chmod(sock, 0o777); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() != 0 {
		// This user owns the directories: take its rights away.
		if err := os.Chmod(readOnly, 0o555); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(private, 0o000); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(private, 0o700); _ = os.Chmod(readOnly, 0o755) })
		permissionDenied(t, readOnly, sock)
		return
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "tcp.test")
	if err := linkOrCopy(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(testCtx(t), bin, "-test.run=^TestUnixNobodyProcess$", "-test.count=1", "-test.v")
	cmd.Dir = base
	cmd.Env = append(childEnv(), unixNobodyEnv+"="+readOnly+"\n"+sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if errors.Is(err, syscall.EPERM) {
		t.Skipf("cannot start a process as user nobody here: %v", err)
	}
	if err != nil || !bytes.Contains(out, []byte("\nCHECKED AS NOBODY\n")) {
		t.Fatalf("the checks as user nobody: %v\n%s", err, out)
	}
	// The listener in the private directory was never disturbed.
	c := dial(t, sys, l.Address())
	exchange(t, "the private listener", c, c, []byte("root may"))
}

// linkOrCopy makes dst the file src: a hard link, or a copy where the two
// are on different file systems.
func linkOrCopy(src, dst string) error {
	if os.Link(src, dst) == nil {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

// TestUnixAcceptFailedNamesThePath: a push-mode Unix listener whose
// accept fails (EMFILE, injected once) publishes AcceptFailed, backs off
// and then accepts the waiting client, which gets its echo. The event's
// error should name the listener's path, as every other error of a Unix
// socket does; before the fix acceptLoop (tcp/listener_actor.go) builds it with
// Addr: a.local, the zero AddrPort for a Unix listener, and no Path, so
// it read "accept unix: too many open files".
func TestUnixAcceptFailedNamesThePath(t *testing.T) {
	sys := newSystem(t)
	path := unixPath(t, "emfile.sock")
	l := serve(t, sys, socket.UnixPrefix+path, HandlerFunc(echoing))
	failed := make(chan *AcceptFailed, 4)
	sub := sys.Actors.EventStream.Subscribe(func(evt any) {
		if f, ok := evt.(*AcceptFailed); ok {
			select {
			case failed <- f:
			default:
			}
		}
	})
	defer sys.Actors.EventStream.Unsubscribe(sub)
	var once sync.Once
	remove := socket.InjectFaults(func(op socket.Op, fd int) error {
		var err error
		if op == socket.OpAccept {
			once.Do(func() { err = syscall.EMFILE })
		}
		return err
	})
	defer remove()
	c := dial(t, sys, l.Address())
	var f *AcceptFailed
	select {
	case f = <-failed:
	case <-testCtx(t).Done():
		t.Fatal("no AcceptFailed")
	}
	if f.Listener.Id != l.PID().Id || !errors.Is(f.Err, syscall.EMFILE) || f.Backoff <= 0 {
		t.Fatalf("AcceptFailed = %+v; want the listener's EMFILE with a back-off", f)
	}
	exchange(t, "the client accepted after the back-off", c, c, []byte("later"))
	wantUnixError(t, "AcceptFailed.Err", f.Err, syscall.EMFILE, "accept", path)
}

// TestUnixInfoOfUnnamedEnd: the Info of a dialer (a socket that never
// bound) has no local address, and that of the client accepted from it no
// remote one. Before the fix both read "unix:@": socket.LocalPath and RemotePath
// return "@" for an unnamed socket (see socket's
// TestUnixUnnamedPathIsEmpty).
func TestUnixInfoOfUnnamedEnd(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	l := listenUnix(t, sys, unixPath(t, "info.sock"))
	c := dial(t, sys, l.Address())
	s, _ := accept(t, l)
	if in, err := c.Info(ctx); err != nil || in.GetLocal().IsUnix() {
		t.Errorf("dialer Info = %v, %v; want no local path", in, err)
	}
	if in, err := s.Info(ctx); err != nil || in.GetRemote().IsUnix() {
		t.Errorf("accepted Info = %v, %v; want no remote path", in, err)
	}
}
