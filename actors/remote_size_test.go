//go:build !race

// Two nodes in one process: see tcp/remote_test.go for why these run
// without -race.

package actors

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// TestRemoteMessageLimit: a request to another node whose command, or the
// answer it asks for, is over MaxRemoteMessage is refused at once with an
// OpError wrapping EMSGSIZE, and sends nothing: the link between the
// nodes keeps serving. A command of exactly MaxRemoteMessage crosses.
func TestRemoteMessageLimit(t *testing.T) {
	a := newSystem(t, WithRemote(""), WithRemotePolicy(AllowAll))
	b := newSystem(t, WithRemote(""), WithRemotePolicy(AllowAll))
	ctx := testCtx(t)
	node := actor.NewPID(a.Address(), NodeName)
	pid, err := SpawnAt(ctx, b, a.Address(), testKind)
	if err != nil {
		t.Fatal(err)
	}
	over := []struct {
		name string
		pid  *actor.PID
		cmd  proto.Message
		op   string
	}{
		{name: "send 5 MiB", pid: pid, cmd: &messages.Send{Data: make([]byte, 5<<20)}, op: "send"},
		{name: "send one byte over", pid: pid, cmd: sendOfSize(t, MaxRemoteMessage+1), op: "send"},
		{name: "spawn one byte over", pid: node, cmd: spawnOfSize(t, MaxRemoteMessage+1), op: "spawn"},
		{name: "recv", pid: pid, cmd: &messages.Recv{Max: MaxRemoteMessage + 1}, op: "recv"},
		{name: "recv exact 64 MiB", pid: pid, cmd: &messages.RecvExact{N: 64 << 20}, op: "recvexact"},
		{name: "recv from", pid: pid, cmd: &messages.RecvFrom{Max: MaxRemoteMessage + 1}, op: "recvfrom"},
	}
	for _, tc := range over {
		t.Run(tc.name, func(t *testing.T) {
			f := Request[proto.Message](b.Root(), tc.pid, tc.cmd)
			_, err, done := f.Result()
			if !done {
				t.Fatal("not refused at once")
			}
			var oe *socket.OpError
			if !errors.Is(err, syscall.EMSGSIZE) || !errors.As(err, &oe) || oe.Op != tc.op ||
				!strings.Contains(err.Error(), "over remote, one message is at most 4 MiB") {
				t.Fatalf("err = %v; want an OpError for %q wrapping EMSGSIZE", err, tc.op)
			}
		})
	}
	t.Run("at the limit", func(t *testing.T) {
		// Crosses: node A answers an unknown kind, over the same link.
		res, err := Request[*messages.Spawned](b.Root(), node, spawnOfSize(t, MaxRemoteMessage)).Wait(ctx)
		if err != nil || res.GetStatus().GetCode() != messages.IOStatus_IO_STATUS_INVALID_ARGUMENT {
			t.Fatalf("Spawn of MaxRemoteMessage bytes = %v, %v; want invalid argument from node A", res, err)
		}
		for _, cmd := range []proto.Message{&messages.Recv{Max: MaxRemoteMessage}, &messages.RecvExact{N: MaxRemoteMessage}, &messages.RecvFrom{Max: MaxRemoteMessage}} {
			if err := remoteSizeErr(cmd); err != nil {
				t.Errorf("%T asking for MaxRemoteMessage: %v", cmd, err)
			}
		}
	})
	if _, err := Request[*messages.SocketStats](b.Root(), pid, &messages.GetSocketStats{}).Wait(ctx); err != nil {
		t.Fatalf("link after the refusals: %v", err)
	}
}

// TestRemoteOversizeRecovers documents what the limit prevents: a message
// over gRPC's 4 MiB, sent past Request, makes node A close the stream it
// came on (B logs "EndpointWriter lost connection ... received message
// larger than max"), and requests queued on that stream are lost. Later
// requests open a new stream: the link recovers.
func TestRemoteOversizeRecovers(t *testing.T) {
	a := newSystem(t, WithRemote(""), WithRemotePolicy(AllowAll))
	b := newSystem(t, WithRemote(""), WithRemotePolicy(AllowAll))
	ctx := testCtx(t)
	node := actor.NewPID(a.Address(), NodeName)
	if _, err := SpawnAt(ctx, b, a.Address(), testKind); err != nil {
		t.Fatal(err)
	}
	b.Root().Send(node, spawnOfSize(t, grpcMaxMessage+1))
	for {
		attempt, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_, err := SpawnAt(attempt, b, a.Address(), testKind)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the link did not recover: %v", err)
		}
	}
}

// sendOfSize is a Send whose encoded size is n.
func sendOfSize(t *testing.T, n int) *messages.Send {
	t.Helper()
	m := &messages.Send{}
	m.Data = make([]byte, n-(proto.Size(&messages.Send{Data: make([]byte, n)})-n))
	if proto.Size(m) != n {
		t.Fatalf("Send of %d bytes encodes to %d", len(m.Data), proto.Size(m))
	}
	return m
}

// spawnOfSize is a Spawn (of no registered kind) whose encoded size is n.
func spawnOfSize(t *testing.T, n int) *messages.Spawn {
	t.Helper()
	m := &messages.Spawn{}
	m.Kind = strings.Repeat("k", n-(proto.Size(&messages.Spawn{Kind: strings.Repeat("k", n)})-n))
	if proto.Size(m) != n {
		t.Fatalf("Spawn of a %d-byte kind encodes to %d", len(m.Kind), proto.Size(m))
	}
	return m
}

// TestRemoteBackToBackUnderTheLimit: messages that each fit, sent back to
// back, cross one by one: together they would be over gRPC's 4 MiB frame
// limit, and the endpoint writer must not pack them into one frame.
func TestRemoteBackToBackUnderTheLimit(t *testing.T) {
	a := newSystem(t, WithRemote(""), WithRemotePolicy(AllowAll))
	b := newSystem(t, WithRemote(""), WithRemotePolicy(AllowAll))
	ctx := testCtx(t)
	node := actor.NewPID(a.Address(), NodeName)
	if _, err := Request[*messages.Spawned](b.Root(), node, &messages.Spawn{Kind: "warm"}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	var fs []*Future[*messages.Spawned]
	for range 6 {
		fs = append(fs, Request[*messages.Spawned](b.Root(), node, &messages.Spawn{Kind: strings.Repeat("k", 3<<20)}))
	}
	for i, f := range fs {
		res, err := f.Wait(ctx)
		if err != nil || res.GetStatus().GetCode() != messages.IOStatus_IO_STATUS_INVALID_ARGUMENT {
			t.Fatalf("spawn %d of a 3 MiB kind: %v, %v; want node A's answer (no such kind)", i, res, err)
		}
	}
}
