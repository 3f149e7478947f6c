package tcp

// Memory a peer or a caller controls: buffers grow with the bytes that
// arrived, never with a size announced or asked for (DESIGN invariant 10).

import (
	"encoding/binary"
	"errors"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// heapGrowth runs f and returns how much the live heap grew across it.
func heapGrowth(f func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}

// TestRecvExactMemoryFollowsData: 20 RecvExact of MaxRecv (64 MiB each,
// 1.25 GiB asked for in all) wait on connections that send nothing; the
// heap does not grow with what was asked.
func TestRecvExactMemoryFollowsData(t *testing.T) {
	sys := newSystem(t)
	addr := goServer(t, "127.0.0.1:0", func(c net.Conn) {
		defer c.Close()
		buf := make([]byte, 1)
		c.Read(buf) // until the client closes
	})
	clients := make([]*Client, 20)
	for i := range clients {
		clients[i] = dial(t, sys, addr)
	}
	ctx := testCtx(t)
	var pending []func()
	growth := heapGrowth(func() {
		for _, c := range clients {
			f := c.RecvExactAsync(MaxRecv, 0)
			pending = append(pending, func() { f.Wait(ctx) })
		}
		// Every request has reached its actor once it answers a later one.
		for _, c := range clients {
			if _, err := c.Info(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})
	if growth > 8<<20 {
		t.Fatalf("the heap grew by %d bytes for 20 RecvExact of %d bytes that got no data", growth, MaxRecv)
	}
	t.Logf("20 pending RecvExact of 64 MiB: heap growth %d bytes", growth)
	for _, c := range clients {
		c.Close(ctx)
	}
	for _, wait := range pending {
		wait()
	}
}

// TestLengthPrefixMemoryFollowsData: at the connection limit, every peer
// announces a frame of the largest size allowed and sends nothing more;
// the heap does not grow with the announced sizes.
func TestLengthPrefixMemoryFollowsData(t *testing.T) {
	sys := newSystem(t)
	const conns, frameMax = 200, 1 << 20 // 200 MiB announced
	lp := mustFraming(t)(LengthPrefixed(4, frameMax))
	opened := make(chan struct{}, conns)
	l := serve(t, sys, "127.0.0.1:0", HandlerFunc(func(c *Conn, msg any) {
		if _, ok := msg.(*messages.Connected); ok {
			opened <- struct{}{}
		}
	}), WithFraming(lp), WithMaxConnections(conns))
	var peers []net.Conn
	t.Cleanup(func() {
		for _, c := range peers {
			c.Close()
		}
	})
	prefix := binary.BigEndian.AppendUint32(nil, frameMax)
	growth := heapGrowth(func() {
		for range conns {
			c, err := net.DialTimeout("tcp", l.Addr().String(), testTimeout)
			if err != nil {
				t.Fatal(err)
			}
			peers = append(peers, c)
			if _, err := c.Write(prefix); err != nil {
				t.Fatal(err)
			}
		}
		for range conns {
			select {
			case <-opened:
			case <-time.After(testTimeout):
				t.Fatal("not every connection opened")
			}
		}
		// Each connection has read its prefix once it answers a request.
		st, err := l.Stats(testCtx(t))
		if err != nil || st.GetLive() != conns {
			t.Fatalf("Stats = %v, %v", st, err)
		}
		sys.Runtime().EachSocket("tcp.conn", l.Addr().String(), func(pid *actor.PID) {
			s := actors.SocketOf(sys, pid)
			if _, err := s.SocketStats(testCtx(t)); err != nil {
				t.Error(err)
			}
		})
	})
	if growth > 32<<20 {
		t.Fatalf("the heap grew by %d bytes for %d prefixes announcing %d bytes each", growth, conns, frameMax)
	}
	t.Logf("%d connections announcing 1 MiB frames: heap growth %d bytes", conns, growth)
}

// TestPendingRequestsBounded: a socket holds at most core.MaxPending
// requests of a kind: the ones beyond are refused at once, with an error
// that says so (and is EAGAIN); those within are answered when the socket
// closes.
func TestPendingRequestsBounded(t *testing.T) {
	sys := newSystem(t)
	addr := goServer(t, "127.0.0.1:0", func(c net.Conn) {
		defer c.Close()
		c.Read(make([]byte, 1)) // until the client closes
	})
	c := dial(t, sys, addr)
	ctx := testCtx(t)
	const extra = 16
	var futures []*actors.Future[*messages.RecvResult]
	for range core.MaxPending + extra {
		futures = append(futures, c.RecvAsync(16, 0))
	}
	refused := 0
	for _, f := range futures[core.MaxPending:] {
		res, err := f.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := res.GetStatus().Err(); errors.Is(err, socket.ErrTooManyPending) && errors.Is(err, syscall.EAGAIN) && strings.Contains(err.Error(), "recv tcp") {
			refused++
		}
	}
	if refused != extra {
		t.Fatalf("%d of the %d Recv beyond the bound refused as too many pending", refused, extra)
	}
	for _, f := range futures[:core.MaxPending] {
		if _, _, done := f.Result(); done {
			t.Fatal("a Recv within the bound was answered before any data or close")
		}
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range futures[:core.MaxPending] {
		if _, err := f.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
