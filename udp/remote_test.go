//go:build !race

// Two nodes in one process: see tcp/remote_test.go for why these run
// without -race.

package udp_test

import (
	"testing"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/test/testkit"
	"github.com/actornet/actornet/udp"
)

// TestRemotePeer: B binds a peer on node A and exchanges a datagram with a
// local peer; the sender A's peer reports is the one B's peer sees.
func TestRemotePeer(t *testing.T) {
	a := testkit.System(t, actors.WithRemote(""))
	b := testkit.System(t, actors.WithRemote(""))
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
