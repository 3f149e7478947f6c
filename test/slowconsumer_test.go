package test

import (
	"context"
	"hash/crc32"
	"net"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/test/testkit"
)

// The slow consumer's stream: 1 GiB in 1 MiB chunks, read 64 KiB at a
// time, at most slowCredit buffers retained at once.
const (
	slowOffered  = 1 << 30
	slowChunk    = 1 << 20
	slowReadSize = 64 << 10
	slowCredit   = 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// slowStream is what a slow consumer took in: bytes and a CRC of them in
// order. One goroutine at a time updates it (the handler, or the worker it
// hands the data to); done closes when all the offer is in.
type slowStream struct {
	bytes atomic.Int64
	crc   uint32
	done  chan struct{}
}

func (s *slowStream) add(p []byte) {
	s.crc = crc32.Update(s.crc, castagnoli, p)
	if s.bytes.Add(int64(len(p))) == slowOffered {
		close(s.done)
	}
}

// slowWork asks the worker to take in data (if any) and, if spin, to
// compute for a millisecond: the consumer's slow part. It answers
// slowDone to the sender, the connection's PID.
type slowWork struct {
	data [][]byte
	spin bool
}

type slowDone struct{}

func slowWorker(s *slowStream) *actor.Props {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		if w, ok := ctx.Message().(*slowWork); ok {
			for _, p := range w.data {
				s.add(p)
			}
			if w.spin {
				work(time.Millisecond)
			}
			ctx.Respond(&slowDone{})
		}
	})
}

// pausingConsumer takes each Received in at once, but every 64th it pauses
// reading and resumes only when the worker, after its slow work, answers
// at the connection's PID.
type pausingConsumer struct {
	stream *slowStream
	worker *actor.PID
	n      int
}

func (h *pausingConsumer) Receive(c *tcp.Conn, msg any) {
	switch m := msg.(type) {
	case *messages.Received:
		h.stream.add(m.GetData()) // lent for the call: used within it
		if h.n++; h.n%64 == 0 {
			c.PauseReading()
			c.Send(h.worker, &slowWork{spin: true})
		}
	case *slowDone:
		c.ResumeReading()
	}
}

// retainingConsumer keeps each Received's buffer (Retain) and hands the
// data to the worker a batch at a time, releasing the batch when the
// worker answers. The connection lends at most slowCredit buffers at once,
// so it stops reading while a full batch is out.
type retainingConsumer struct {
	worker *actor.PID
	held   []tcp.Loan // retained, not yet handed out
	out    []tcp.Loan // with the worker
	taken  int64
	n      int
}

func (h *retainingConsumer) Receive(c *tcp.Conn, msg any) {
	switch m := msg.(type) {
	case *messages.Received:
		h.held = append(h.held, c.Retain())
		h.taken += int64(len(m.GetData()))
		if len(h.held) < slowCredit && h.taken < slowOffered {
			return
		}
		data := make([][]byte, len(h.held))
		for i, l := range h.held {
			data[i] = l.Bytes()
		}
		h.n++
		c.Send(h.worker, &slowWork{data: data, spin: h.n%8 == 0})
		h.out = append(h.out, h.held...)
		h.held = h.held[:0]
	case *slowDone:
		for _, l := range h.out {
			l.Release()
		}
		h.out = h.out[:0]
	}
}

// TestSlowConsumerBoundedMemory: a client offers 1 GiB to a push-mode
// handler slower than the client: one that pauses reading while another
// actor does its slow work, and one that retains the read buffers while
// another actor processes them. The server reads only while the handler
// takes data, so the process heap stays bounded (sampled through the
// transfer), and every byte arrives intact and in order (a CRC of the
// stream on both sides).
func TestSlowConsumerBoundedMemory(t *testing.T) {
	needsLong(t)
	chunk := pattern(slowChunk)
	var want uint32
	for range slowOffered / slowChunk {
		want = crc32.Update(want, castagnoli, chunk)
	}
	for _, tc := range []struct {
		name    string
		handler func(s *slowStream, worker *actor.PID) tcp.Handler
	}{
		{name: "pauses reading", handler: func(s *slowStream, worker *actor.PID) tcp.Handler {
			return &pausingConsumer{stream: s, worker: worker}
		}},
		{name: "retains buffers", handler: func(_ *slowStream, worker *actor.PID) tcp.Handler {
			return &retainingConsumer{worker: worker}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := testkit.System(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			stream := &slowStream{done: make(chan struct{})}
			worker := sys.Root().Spawn(slowWorker(stream))
			defer sys.Root().Stop(worker)
			h := tcp.PerConnection(func() tcp.Handler { return tc.handler(stream, worker) })
			l, err := tcp.Serve(ctx, sys, "127.0.0.1:0", h, tcp.WithReadSize(slowReadSize), tcp.WithReadCredit(slowCredit))
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close(context.Background())

			// Collect garbage early, so that the heap follows what is live
			// (under -race, sync.Pool drops buffers at random: garbage).
			defer debug.SetGCPercent(debug.SetGCPercent(10))
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			c, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			go func() {
				for sent := 0; sent < slowOffered; sent += len(chunk) {
					if _, err := c.Write(chunk); err != nil {
						return
					}
				}
			}()
			var peak uint64
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for finished := false; !finished; {
				select {
				case <-stream.done:
					finished = true
				case <-tick.C: // sampling the heap while the transfer runs
				case <-ctx.Done():
					t.Fatalf("%d of %d bytes delivered in time", stream.bytes.Load(), slowOffered)
				}
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapAlloc)
			}
			if stream.crc != want {
				t.Fatalf("1 GiB delivered with CRC %08x; the client sent %08x", stream.crc, want)
			}
			growth := int64(peak) - int64(base.HeapAlloc)
			t.Logf("1 GiB offered and delivered intact; heap peak %d MiB above the start", growth>>20)
			if growth > 64<<20 {
				t.Fatalf("heap grew by %d MiB while 1 GiB was offered to a slow consumer", growth>>20)
			}
		})
	}
}

// work keeps the processor busy for d: a consumer slow because it computes.
func work(d time.Duration) {
	sum := 0
	for start := time.Now(); time.Since(start) < d; {
		for i := range 1000 {
			sum += i
		}
	}
	_ = sum
}
