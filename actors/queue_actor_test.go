package actors

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// A socket actor built on the core's request queue, driven by real
// readiness, deadlines, withdrawals and close.

// byteReader is a socket actor whose Recv requests wait on a core.Queue, one
// byte each.
type byteReader struct {
	core *core.Core
	q    *core.Queue[struct{}]
}

func (a *byteReader) SocketCore() *core.Core { return a.core }

func (a *byteReader) Receive(ctx actor.Context) {
	a.core.Receive(ctx, func(cmd proto.Message, reply core.Replier) bool {
		r, ok := cmd.(*messages.Recv)
		if ok {
			a.q.Push(struct{}{}, reply, core.Timeout(r.GetTimeoutMs()))
		}
		return ok
	})
}

func (a *byteReader) serve() {
	var b [1]byte
	for a.q.Len() > 0 {
		n, err := a.core.Socket().Read(b[:])
		if err == unix.EAGAIN {
			return
		}
		if err != nil || n == 0 {
			a.q.FailAll(net.ErrClosed)
			return
		}
		a.q.Reply(&messages.RecvResult{Data: []byte{b[0]}})
	}
}

// spawnReader returns a byteReader actor on one end of a socket pair and
// the other end.
func spawnReader(t *testing.T, sys *System) (*actor.PID, *socket.Socket) {
	t.Helper()
	s, peer, err := socket.Pair(socket.Stream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = peer.Close() })
	props := core.SocketProps(sys.Runtime(), s, func(c *core.Core) (core.SocketActor, core.Protocol) {
		a := &byteReader{core: c}
		a.q = core.NewQueue(c, func(_ *struct{}, reply core.Replier, err error) {
			reply.Reply(&messages.RecvResult{Status: c.Status("recv", err)})
		}).WaitsFor(poller.Readable, a.serve)
		return a, core.Hooks{}
	})
	pid, err := sys.Runtime().SpawnSocketActor(props)
	if err != nil {
		t.Fatal(err)
	}
	return pid, peer
}

func recvByte(sys *System, pid *actor.PID, timeout time.Duration) *Future[*messages.RecvResult] {
	ms, _ := core.TimeoutMS(timeout)
	return Request[*messages.RecvResult](sys.Root(), pid, &messages.Recv{Max: 1, TimeoutMs: ms})
}

func TestQueueInActor(t *testing.T) {
	sys := newSystem(t)
	pid, peer := spawnReader(t, sys)
	ctx := testCtx(t)

	// Readiness serves the waiting requests in order.
	a, b := recvByte(sys, pid, 0), recvByte(sys, pid, 0)
	mustWrite(t, peer, []byte("ab"))
	for i, f := range []*Future[*messages.RecvResult]{a, b} {
		res, err := f.Wait(ctx)
		if err != nil || res.GetStatus().Err() != nil || string(res.GetData()) != "ab"[i:i+1] {
			t.Fatalf("read %d: %v, %v, %q", i, err, res.GetStatus().Err(), res.GetData())
		}
	}

	// A timeout answers the head; the request behind it goes on.
	timed, next := recvByte(sys, pid, 10*time.Millisecond), recvByte(sys, pid, 0)
	res, err := timed.Wait(ctx)
	if err != nil || !errors.Is(res.GetStatus().Err(), os.ErrDeadlineExceeded) {
		t.Fatalf("timed read: %v, %v; want a timeout", err, res.GetStatus().Err())
	}

	// A caller that stops waiting withdraws its request.
	gone := recvByte(sys, pid, 0)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Await(cancelled, sys, pid, gone); !errors.Is(err, context.Canceled) {
		t.Fatalf("withdrawn read: %v; want context.Canceled", err)
	}
	if res, _, _ := gone.Result(); !errors.Is(res.GetStatus().Err(), socket.ErrCancelled) {
		t.Fatalf("withdrawn read answered %v; want cancelled", res.GetStatus().Err())
	}

	mustWrite(t, peer, []byte("c"))
	if res, err := next.Wait(ctx); err != nil || string(res.GetData()) != "c" {
		t.Fatalf("read after the timeout: %v, %q", err, res.GetData())
	}

	// Close answers what still waits, cancelled.
	last := recvByte(sys, pid, time.Hour)
	if _, err := Request[*messages.Status](sys.Root(), pid, &messages.Close{}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := last.Wait(ctx); err != nil || !errors.Is(res.GetStatus().Err(), socket.ErrCancelled) {
		t.Fatalf("read pending at close: %v, %v; want cancelled", err, res.GetStatus().Err())
	}
}
