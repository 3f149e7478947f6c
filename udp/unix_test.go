package udp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/test/testkit"
)

// unixPath is a fresh socket path in a short temporary directory.
var unixPath = testkit.UnixPath

// unixEcho serves a push-mode echo on the Unix datagram socket at path:
// each datagram goes back to its sender's path.
func unixEcho(t *testing.T, sys *actors.System, path string) *Peer {
	t.Helper()
	p, err := Serve(testCtx(t), sys, "unix:"+path, HandlerFunc(func(c *Conn, msg any) {
		if d, ok := msg.(*messages.Datagram); ok && c.FromPath() != "" {
			_ = c.SendToUnix(c.FromPath(), d.GetData())
		}
	}))
	if err != nil {
		t.Fatalf("Serve unix:%s: %v", path, err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// Every size a Unix datagram may have here (up to MaxDatagram) goes to a
// push-mode peer and back, through a connected peer (Dial: it binds to an
// abstract name so the echo can answer) and through SendToUnix and
// RecvFromUnix; the socket file is removed when the server closes.
func TestUnixDatagramEcho(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	path := unixPath(t, "echo.sock")
	srv := unixEcho(t, sys, path)

	c, err := Dial(ctx, sys, "unix:"+path)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close(context.Background())
	for _, n := range []int{0, 1, 1500, 65507, MaxDatagram} {
		msg := bytes.Repeat([]byte{byte(n)}, n)
		if sent, err := c.Send(ctx, msg); err != nil || sent != n {
			t.Fatalf("Send %d bytes = %d, %v", n, sent, err)
		}
		got, err := c.Recv(ctx, MaxDatagram+1)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo of %d bytes: %d bytes, %v", n, len(got), err)
		}
	}

	own := filepath.Join(filepath.Dir(path), "client.sock")
	p := bind(t, sys, "unix:"+own)
	if _, err := p.SendToUnix(ctx, path, []byte("to the path")); err != nil {
		t.Fatal(err)
	}
	d, from, err := p.RecvFromUnix(ctx, 64)
	if err != nil || string(d) != "to the path" || from != path {
		t.Fatalf("RecvFromUnix = %q from %q, %v; want the echo from %s", d, from, err, path)
	}

	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket file after Close: %v; want it removed", err)
	}
	// Nobody at the path any more: the send says so, naming the path.
	_, err = p.SendToUnix(ctx, path, []byte("anyone?"))
	if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("SendToUnix to a closed peer = %v; want ENOENT or ECONNREFUSED", err)
	}
	if want := "sendto unixgram " + path; err == nil || err.Error()[:len(want)] != want {
		t.Fatalf("error %q does not name the path", err)
	}
}

// A Unix datagram peer in the abstract namespace makes no file; Go's net
// talks to it as to any unixgram socket.
func TestUnixDatagramAbstractWithGoNet(t *testing.T) {
	sys := newSystem(t)
	name := fmt.Sprintf("@actornet-udp-%d-%d", os.Getpid(), time.Now().UnixNano())
	unixEcho(t, sys, name)
	dir := unixPath(t, "go.sock")
	gc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: dir, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	_ = gc.SetDeadline(time.Now().Add(testTimeout))
	if _, err := gc.WriteToUnix([]byte("from go"), &net.UnixAddr{Name: name, Net: "unixgram"}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, from, err := gc.ReadFromUnix(buf)
	if err != nil || string(buf[:n]) != "from go" || from.Name != name {
		t.Fatalf("Go client read %q from %v, %v", buf[:n], from, err)
	}
}

// A bound path taken by a live peer is refused; a stale one is replaced;
// one that is too long is an invalid address, before any socket opens.
func TestUnixDatagramBindErrors(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	path := unixPath(t, "taken.sock")
	bind(t, sys, "unix:"+path)
	if _, err := Bind(ctx, sys, "unix:"+path); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Bind to a live peer's path = %v; want EADDRINUSE", err)
	}

	stale := unixPath(t, "stale.sock")
	s, err := socket.Open(socket.Unix, socket.Datagram)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.BindUnix(stale); err != nil {
		t.Fatal(err)
	}
	_ = s.Close() // the file stays: a process that died
	p := bind(t, sys, "unix:"+stale)
	c, err := Dial(ctx, sys, "unix:"+stale)
	if err != nil {
		t.Fatalf("Dial the peer that replaced a stale file: %v", err)
	}
	defer c.Close(context.Background())
	if _, err := c.Send(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if d, err := p.Recv(ctx, 8); err != nil || string(d) != "x" {
		t.Fatalf("Recv = %q, %v", d, err)
	}

	long := "/tmp/" + string(bytes.Repeat([]byte("l"), socket.MaxUnixPath))
	if _, err := Bind(ctx, sys, "unix:"+long); !errors.Is(err, socket.ErrInvalidAddress) {
		t.Fatalf("Bind to a %d-byte path = %v; want an invalid address", len(long), err)
	}
}

// NetPacketConn over a Unix datagram peer speaks *net.UnixAddr, so Go code
// written for net.PacketConn works on it unchanged.
func TestUnixNetPacketConn(t *testing.T) {
	sys := newSystem(t)
	path := unixPath(t, "pc.sock")
	unixEcho(t, sys, path)
	own := filepath.Join(filepath.Dir(path), "own.sock")
	pc := NewNetPacketConn(bind(t, sys, "unix:"+own))
	if la, ok := pc.LocalAddr().(*net.UnixAddr); !ok || la.Name != own {
		t.Fatalf("LocalAddr = %#v; want the unix path %s", pc.LocalAddr(), own)
	}
	_ = pc.SetDeadline(time.Now().Add(testTimeout))
	if _, err := pc.WriteTo([]byte("packet"), &net.UnixAddr{Net: "unixgram", Name: path}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, from, err := pc.ReadFrom(buf)
	if ua, ok := from.(*net.UnixAddr); err != nil || string(buf[:n]) != "packet" || !ok || ua.Name != path {
		t.Fatalf("ReadFrom = %q from %#v, %v", buf[:n], from, err)
	}
}
