package tcp

// Helpers of the Unix-domain socket tests (unix_*_test.go): short paths,
// abstract names, credentials and error checks, listen/accept/exchange.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	return filepath.Dir(testkit.UnixPath(t, "x"))
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
