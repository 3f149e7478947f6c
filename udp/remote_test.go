//go:build !race

// Two nodes in one process: see tcp/remote_test.go for why these run
// without -race.

package udp_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/test/testkit"
	"github.com/actornet/actornet/udp"
)

// TestRemotePeer: B binds a peer on node A and exchanges a datagram with a
// local peer; the sender A's peer reports is the one B's peer sees.
func TestRemotePeer(t *testing.T) {
	a := testkit.System(t, actors.WithRemote(""), actors.WithRemotePolicy(actors.AllowAll))
	b := testkit.System(t, actors.WithRemote(""), actors.WithRemotePolicy(actors.AllowAll))
	ctx := testkit.Context(t)
	testkit.ForEachFamily(t, func(t *testing.T, addr string) {
		remote, err := udp.BindAt(ctx, b, a.Address(), addr)
		if err != nil {
			t.Fatal(err)
		}
		defer remote.Close(ctx)
		if remote.PID().Address != a.Address() {
			t.Fatalf("peer lives at %s, want node A %s", remote.PID().Address, a.Address())
		}
		local, err := udp.Bind(ctx, b, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer local.Close(ctx)
		if _, err := remote.SendTo(ctx, local.LocalAddr(), []byte("over there")); err != nil {
			t.Fatal(err)
		}
		data, from, err := local.RecvFrom(ctx, 64)
		if err != nil || string(data) != "over there" || from != remote.LocalAddr() {
			t.Fatalf("RecvFrom = %q from %v, %v (want from %v)", data, from, err, remote.LocalAddr())
		}
		if _, err := local.SendTo(ctx, remote.LocalAddr(), []byte("back")); err != nil {
			t.Fatal(err)
		}
		data, from, err = remote.RecvFrom(ctx, 64)
		if err != nil || string(data) != "back" || from != local.LocalAddr() {
			t.Fatalf("remote RecvFrom = %q from %v, %v", data, from, err)
		}
	})
}

// TestRemoteUnixPeer: B binds a Unix datagram peer on node A by path (the
// path travels in the Bind message) and exchanges datagrams with a local
// Unix peer, each side seeing the other's path.
func TestRemoteUnixPeer(t *testing.T) {
	a := testkit.System(t, actors.WithRemote(""), actors.WithRemotePolicy(actors.AllowAll))
	b := testkit.System(t, actors.WithRemote(""), actors.WithRemotePolicy(actors.AllowAll))
	ctx := testkit.Context(t)
	dir, err := os.MkdirTemp("", "an")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	there, here := filepath.Join(dir, "a.sock"), filepath.Join(dir, "b.sock")
	remote, err := udp.BindAt(ctx, b, a.Address(), "unix:"+there)
	if err != nil {
		t.Fatal(err)
	}
	local, err := udp.Bind(ctx, b, "unix:"+here)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close(ctx)
	if remote.Path() != there || remote.PID().Address != a.Address() {
		t.Fatalf("remote peer: path %q at %s", remote.Path(), remote.PID().Address)
	}
	if _, err := remote.SendToUnix(ctx, here, []byte("over there")); err != nil {
		t.Fatal(err)
	}
	data, from, err := local.RecvFromUnix(ctx, 64)
	if err != nil || string(data) != "over there" || from != there {
		t.Fatalf("RecvFromUnix = %q from %q, %v; want from %s", data, from, err, there)
	}
	if _, err := local.SendToUnix(ctx, there, []byte("back")); err != nil {
		t.Fatal(err)
	}
	data, from, err = remote.RecvFromUnix(ctx, 64)
	if err != nil || string(data) != "back" || from != here {
		t.Fatalf("remote RecvFromUnix = %q from %q, %v", data, from, err)
	}
	if err := remote.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(there); !os.IsNotExist(err) {
		t.Fatalf("node A's socket file after Close: %v; want it removed", err)
	}
}
