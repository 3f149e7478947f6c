package tcp

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
)

// newClientPID spawns a client actor, closed at cleanup.
func newClientPID(t *testing.T, sys *actors.System) *actor.PID {
	t.Helper()
	pid, err := sys.Runtime().SpawnSocketActor(ClientProps(sys))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = actors.Request[*messages.Status](sys.Root(), pid, &messages.Close{}).Wait(testCtx(t))
	})
	return pid
}

func connectAsync(sys *actors.System, pid *actor.PID, cmd *messages.Connect) *actors.Future[*messages.ConnectResult] {
	return actors.Request[*messages.ConnectResult](sys.Root(), pid, cmd)
}

func waitConnect(t *testing.T, f *actors.Future[*messages.ConnectResult]) *messages.ConnectResult {
	t.Helper()
	res, err := f.Wait(testCtx(t))
	if err != nil {
		t.Fatalf("connect: no answer: %v", err)
	}
	return res
}

// wantElsewhere checks that res refuses a Connect because the client is
// connected to first already.
func wantElsewhere(t *testing.T, res *messages.ConnectResult, first netip.AddrPort) {
	t.Helper()
	err := res.GetError().Err()
	if res.GetStatus() == messages.ConnectStatus_CONNECT_STATUS_CONNECTED || !errors.Is(err, syscall.EISCONN) {
		t.Fatalf("second Connect to another address: %v, %v; want EISCONN", res.GetStatus(), err)
	}
	if at, _ := res.GetError().GetAddr().AddrPort(); at != first {
		t.Errorf("the refusal names %v; want the address connected to, %v", at, first)
	}
}

// A client connects once: a second Connect to the same address answers
// the first result, one to another address says the client is connected
// elsewhere (EISCONN) and leaves the connection alone.
func TestConnectTwice(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		first := netip.MustParseAddrPort(goServer(t, addr, echo))
		other := netip.MustParseAddrPort(goServer(t, addr, echo))
		pid := newClientPID(t, sys)
		res := waitConnect(t, connectAsync(sys, pid, &messages.Connect{HostPort: first.String()}))
		if err := res.GetError().Err(); err != nil || res.GetStatus() != messages.ConnectStatus_CONNECT_STATUS_CONNECTED {
			t.Fatalf("first Connect: %v, %v", res.GetStatus(), err)
		}

		t.Run("same address", func(t *testing.T) {
			for _, cmd := range []*messages.Connect{
				{HostPort: first.String()},
				{Remote: messages.NewEndpoint(first)},
			} {
				again := waitConnect(t, connectAsync(sys, pid, cmd))
				if again.GetStatus() != messages.ConnectStatus_CONNECT_STATUS_CONNECTED || again.GetRemote().String() != res.GetRemote().String() {
					t.Errorf("Connect(%v) again: %v to %v; want the first result", cmd, again.GetStatus(), again.GetRemote())
				}
			}
		})

		t.Run("another address", func(t *testing.T) {
			for _, cmd := range []*messages.Connect{
				{HostPort: other.String()},
				{Remote: messages.NewEndpoint(other)},
			} {
				wantElsewhere(t, waitConnect(t, connectAsync(sys, pid, cmd)), first)
			}
			// The first connection is untouched.
			sent, err := actors.Request[*messages.SendResult](sys.Root(), pid, &messages.Send{Data: []byte("ping")}).Wait(testCtx(t))
			if err != nil || sent.GetStatus().Err() != nil {
				t.Fatalf("send after the refused Connect: %v, %v", err, sent.GetStatus().Err())
			}
			got, err := actors.Request[*messages.RecvResult](sys.Root(), pid, &messages.RecvExact{N: 4}).Wait(testCtx(t))
			if err != nil || got.GetStatus().Err() != nil || string(got.GetData()) != "ping" {
				t.Fatalf("echo after the refused Connect: %v, %v, %q", err, got.GetStatus().Err(), got.GetData())
			}
		})
	})
}

// A Connect to another address that arrives while the first attempt is
// still going is refused the same way once the attempt connects.
func TestConnectElsewhereWhileConnecting(t *testing.T) {
	sys := newSystem(t)
	first := netip.MustParseAddrPort(goServer(t, "127.0.0.1:0", echo))
	other := netip.MustParseAddrPort(goServer(t, "127.0.0.1:0", echo))
	pid := newClientPID(t, sys)
	a := connectAsync(sys, pid, &messages.Connect{HostPort: first.String()})
	b := connectAsync(sys, pid, &messages.Connect{HostPort: other.String()})
	same := connectAsync(sys, pid, &messages.Connect{HostPort: first.String()})
	if res := waitConnect(t, a); res.GetStatus() != messages.ConnectStatus_CONNECT_STATUS_CONNECTED {
		t.Fatalf("first Connect: %v, %v", res.GetStatus(), res.GetError().Err())
	}
	wantElsewhere(t, waitConnect(t, b), first)
	if res := waitConnect(t, same); res.GetStatus() != messages.ConnectStatus_CONNECT_STATUS_CONNECTED {
		t.Errorf("Connect to the same address while connecting: %v, %v", res.GetStatus(), res.GetError().Err())
	}
}
