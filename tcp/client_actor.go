package tcp

import (
	"fmt"
	"io"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
)

// MaxRecv bounds the max of Recv and the n of RecvExact: a larger request
// is refused as invalid rather than allocated.
const MaxRecv = 64 << 20

// clientActor is a TCP client: one connection, its reads served in order
// from one queue and its writes from another, so one reader and one writer
// can be in flight at once and two readers never interleave.
type clientActor struct {
	core   *core.Core
	conn   connector
	remote netip.AddrPort
	path   string                // the peer's Unix socket path, for a Unix client
	reads  *core.Queue[readReq]  // made at the first read
	writes *core.Queue[writeReq] // made at the first send
	rerr   error                 // sticky: end of stream or a read error
	werr   error                 // sticky: a write error
	tls    *clientTLS            // DialTLS's
	carry  []byte                // bytes read past a request, for the next
	// drained: the read that began when the registration's ReadEdges was
	// drainedAt found the socket empty (serveReads).
	drained   bool
	drainedAt uint32
	early     earlyReads
	// emptyReads counts the reads that found nothing (EAGAIN): the
	// tests' measure of what drained saves.
	emptyReads atomic.Uint64
}

var _ actor.Actor = (*clientActor)(nil)

type readReq struct {
	cmd   proto.Message
	exact bool
	max   int
	buf   []byte // RecvExact: the whole n bytes
	got   int
}

type writeReq struct {
	data []byte
	off  int
	mark uint64 // with TLS: the byte of the records made that ends this send's
}

// scratch buffers for Recv: read into one, copy out what arrived.
var scratch = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

func newClientActor(c *core.Core) *clientActor {
	c.SetKind("tcp.client")
	return &clientActor{core: c}
}

var _ core.Protocol = (*clientActor)(nil)

// Receive handles the client's commands; the core handles the rest.
func (a *clientActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *resolved:
		a.onResolved(m)
		a.core.UpdateWants()
		return
	case *startClientTLS:
		a.startTLS(m)
		a.core.UpdateWants()
		return
	}
	if a.tls != nil {
		if cmd, _, ok := core.RequestOf(ctx); ok {
			switch cmd := cmd.(type) {
			case *messages.Close:
				a.closeNotify()
			case *messages.Shutdown:
				if cmd.GetHow() != messages.ShutdownHow_SHUTDOWN_HOW_READ {
					a.closeNotify()
				}
			}
		}
	}
	a.core.Receive(ctx, func(cmd proto.Message, reply core.Replier) bool {
		switch cmd := cmd.(type) {
		case *messages.Connect:
			a.connect(cmd, reply)
		case *messages.Send:
			a.send(cmd, reply)
		case *messages.Recv:
			a.recv(cmd, reply, false, int64(cmd.GetMax()), cmd.GetTimeoutMs())
		case *messages.RecvExact:
			a.recv(cmd, reply, true, int64(cmd.GetN()), cmd.GetTimeoutMs())
		case *messages.Abort:
			a.abort(ctx, cmd, reply)
		default:
			return false
		}
		return true
	})
}

// ioGate answers a data request that cannot run: closed, not connected.
func (a *clientActor) ioGate(cmd proto.Message, reply core.Replier) bool {
	switch {
	case a.core.Closed():
		core.Reject(reply, cmd, messages.IOStatus_IO_STATUS_CLOSED)
	case !a.connected():
		st := messages.StatusOf(messages.OpName(cmd), "tcp", netip.AddrPort{}, unix.ENOTCONN)
		reply.Reply(resultFor(cmd, st, nil, 0))
	default:
		return true
	}
	return false
}

// status is a result's status: nil for success (Status.Err and GetCode
// read nil as ok), so that a successful Send or Recv allocates no status.
func (a *clientActor) status(op string, err error) *messages.Status {
	if err == nil {
		return nil
	}
	if a.path != "" {
		return unixStatus(op, a.path, err)
	}
	return messages.StatusOf(op, netFor(a.remote), a.remote, err)
}

// resultFor builds cmd's result with status st.
func resultFor(cmd proto.Message, st *messages.Status, data []byte, sent int) proto.Message {
	if _, ok := cmd.(*messages.Send); ok {
		return &messages.SendResult{Status: st, BytesSent: uint64(sent)}
	}
	return &messages.RecvResult{Status: st, Data: data}
}

func (a *clientActor) recv(cmd proto.Message, reply core.Replier, exact bool, n int64, timeoutMS uint32) {
	if !a.ioGate(cmd, reply) {
		return
	}
	switch {
	case n == 0:
		reply.Reply(&messages.RecvResult{Data: []byte{}})
		return
	case n > MaxRecv:
		reply.Reply(&messages.RecvResult{Status: a.status(messages.OpName(cmd), errInvalidSize)})
		return
	case a.rerr != nil && (a.reads == nil || a.reads.Len() == 0):
		reply.Reply(&messages.RecvResult{Status: a.status(messages.OpName(cmd), a.rerr)})
		return
	}
	if a.reads == nil {
		a.reads = core.NewQueue(a.core, a.answerRead).WaitsFor(poller.Readable, a.serveReads)
	}
	// A RecvExact's buffer grows as bytes arrive (growExact): memory
	// follows the data, never the size a caller asked for.
	a.reads.Push(readReq{cmd: cmd, exact: exact, max: int(n)}, reply, core.Timeout(timeoutMS))
}

var errInvalidSize = fmt.Errorf("%w: size out of range", errInvalid)

// serveReads serves the queued reads in order, first from the bytes an
// earlier read brought past its request (carry), then from the socket,
// until none is left, the socket is drained, or the stream ends or fails.
//
// A read of a few bytes takes what the socket holds, up to a scratch
// buffer, and keeps the rest for the next request: a short read then
// proves the socket drained, and ReadEdges says whether anything came since.
// A request that finds the socket quiet so waits for the poller's Ready
// instead of asking the kernel for an EAGAIN, unless reads made at that
// point have lately found data (early).
func (a *clientActor) serveReads() {
	reg := a.core.Registration()
	first := true
	for a.reads.Len() > 0 {
		r := a.reads.Head()
		if len(a.carry) > 0 {
			if a.carry = a.serveFrom(r, a.carry); len(a.carry) == 0 {
				a.carry = nil
			}
			continue
		}
		quiet := a.drained && reg.ReadEdges() == a.drainedAt
		if quiet && !(first && a.early.try()) {
			return // the Ready serves
		}
		first = false
		var p []byte
		var sp *[]byte
		direct := r.exact && r.max-r.got > directRead
		if direct {
			for r.got == len(r.buf) {
				r.buf = growExact(r.buf, r.got, r.max)
			}
			p = r.buf[r.got:]
		} else {
			sp = scratch.Get().(*[]byte)
			p = *sp
		}
		mark := reg.ReadEdges()
		n, err := a.readPlain(p)
		// With TLS a short read or EAGAIN speaks of the decrypted
		// records, not of the socket; on a Unix socket a read also stops
		// short after a message that carried file descriptors.
		a.drained = a.tls == nil && (err == unix.EAGAIN || err == nil && n > 0 && n < len(p) && a.path == "" && reg.ShortReadDrains())
		a.drainedAt = mark
		if quiet {
			a.early.learn(err != unix.EAGAIN)
		}
		if err == nil && n > 0 {
			if direct {
				r.got += n
				if r.got == r.max {
					a.reads.Reply(a.headRecvResult(r.buf[:r.got]))
				}
			} else if rest := a.serveFrom(r, p[:n]); len(rest) > 0 {
				a.carry = append([]byte(nil), rest...)
			}
		}
		if sp != nil {
			scratch.Put(sp)
		}
		switch {
		case err == unix.EAGAIN:
			a.emptyReads.Add(1)
			return
		case err != nil:
			a.rerr = err
			a.reads.FailAll(err)
			return
		case n == 0:
			a.rerr = io.EOF
			a.reads.FailAll(io.EOF)
			return
		}
	}
}

// earlyReads decides whether a request that finds the socket quiet
// (nothing since it was last drained) reads anyway. The poller may not
// have reported what came meanwhile: a peer sharing the client's core
// often answers a send before the client asks for the answer (the kernel
// runs it as the send returns), and a read then saves the poller's round
// (its wait, its Ready, the caller's wake-up); where answers take longer
// it costs an EAGAIN. A hit scores 2 and a miss -1, within ±8: a request
// reads while the score is not negative, that is while more than a third
// of those reads found data, and otherwise one in 16 reads, to notice a
// change. Measured (test/bench client futures, Go net echo server, same
// core): one connection reads early and keeps its rate, 100 connections
// skip nearly all and save a system call a round trip.
type earlyReads struct {
	score int8
	skips uint8
}

// try reports whether a request that finds the socket quiet reads.
func (e *earlyReads) try() bool {
	if e.score >= 0 {
		return true
	}
	e.skips++
	return e.skips%16 == 0
}

// learn scores what a read made on try found.
func (e *earlyReads) learn(hit bool) {
	if hit {
		e.score = min(e.score+2, 8)
	} else {
		e.score = max(e.score-1, -8)
	}
}

// Buffered reports whether the client holds bytes read past a request
// (core.Buffered: a Poll for reading sees them).
func (a *clientActor) Buffered() bool { return len(a.carry) > 0 }

// directRead is the most a RecvExact still missing reads through a
// scratch buffer; one missing more reads straight into its own.
const directRead = 16 << 10

// serveFrom gives the head read r what it needs of b, answers it if that
// completes it, and returns what is left of b.
func (a *clientActor) serveFrom(r *readReq, b []byte) []byte {
	if !r.exact {
		k := min(r.max, len(b))
		a.reads.Reply(a.headRecvResult(append([]byte(nil), b[:k]...)))
		return b[k:]
	}
	k := min(r.max-r.got, len(b))
	for r.got+k > len(r.buf) {
		r.buf = growExact(r.buf, r.got, r.max)
	}
	r.got += copy(r.buf[r.got:], b[:k])
	if r.got == r.max {
		a.reads.Reply(a.headRecvResult(r.buf[:r.got]))
	}
	return b[k:]
}

// headRecvResult is the successful result of the head read: the one its
// local caller holds (heldRecv), or a new one. (A concrete type
// assertion: one to a generic interface looked the type up in the
// runtime's itab table, 1% of a client's CPU.)
func (a *clientActor) headRecvResult(data []byte) *messages.RecvResult {
	var res *messages.RecvResult
	if h, ok := a.reads.HeadReply().(*heldRecv); ok {
		res = &h.res
	} else {
		res = new(messages.RecvResult)
	}
	res.Data = data
	return res
}

// headSendResult is the successful result of the head send (see
// headRecvResult).
func (a *clientActor) headSendResult(sent int) *messages.SendResult {
	var res *messages.SendResult
	if h, ok := a.writes.HeadReply().(*sendCall); ok {
		res = &h.res
	} else {
		res = new(messages.SendResult)
	}
	res.BytesSent = uint64(sent)
	return res
}

// growExact gives a RecvExact's buffer room for more: twice what it has,
// at least 64 KiB, at most the size asked for.
func growExact(buf []byte, got, want int) []byte {
	nb := make([]byte, min(want, max(2*len(buf), 64<<10)))
	copy(nb, buf[:got])
	return nb
}

// answerRead answers a read that ends unserved: timed out, withdrawn,
// refused, failed or closed. A RecvExact keeps its prefix.
func (a *clientActor) answerRead(r *readReq, reply core.Replier, err error) {
	reply.Reply(&messages.RecvResult{Status: a.status(messages.OpName(r.cmd), err), Data: r.prefix()})
}

func (r *readReq) prefix() []byte {
	if r.exact {
		return r.buf[:r.got]
	}
	return nil
}

func (a *clientActor) send(cmd *messages.Send, reply core.Replier) {
	if !a.ioGate(cmd, reply) {
		return
	}
	switch {
	case len(cmd.GetData()) == 0:
		reply.Reply(&messages.SendResult{Status: a.status("send", nil)})
		return
	case a.werr != nil:
		reply.Reply(&messages.SendResult{Status: a.status("send", a.werr)})
		return
	}
	w := writeReq{data: cmd.GetData()}
	if a.tls != nil {
		if err := a.sealSend(&w); err != nil {
			reply.Reply(&messages.SendResult{Status: a.status("send", err)})
			return
		}
	}
	if a.writes == nil {
		a.writes = core.NewQueue(a.core, a.answerWrite).WaitsFor(poller.Writable, a.serveWrites)
	}
	a.writes.Push(w, reply, core.Timeout(cmd.GetTimeoutMs()))
}

// serveWrites writes the queued sends in order until the kernel's buffer
// is full or a write fails.
func (a *clientActor) serveWrites() {
	if a.tls != nil {
		a.serveTLSWrites()
		return
	}
	sock := a.core.Socket()
	for a.writes.Len() > 0 {
		w := a.writes.Head()
		n, err := sock.Write(w.data[w.off:])
		a.core.Count(false, n, err)
		switch {
		case err == unix.EAGAIN:
			return
		case err != nil:
			a.werr = err
			a.writes.FailAll(err)
			return
		}
		w.off += n
		if w.off == len(w.data) {
			a.writes.Reply(a.headSendResult(w.off))
		}
	}
}

// answerWrite answers a send that ends unserved, with the bytes already
// sent.
func (a *clientActor) answerWrite(w *writeReq, reply core.Replier, err error) {
	if a.tls != nil {
		// Its records are made: the stream cannot go on without them.
		if a.werr == nil {
			a.werr = errTLSSendCut
		}
		reply.Reply(&messages.SendResult{Status: a.status("send", err)})
		return
	}
	reply.Reply(&messages.SendResult{Status: a.status("send", err), BytesSent: uint64(w.off)})
}

// Ready finishes a connect in progress; the queues serve reads and
// writes.
func (a *clientActor) Ready(d poller.Direction) {
	if d == poller.Writable && a.conn.state == connConnecting {
		a.connectReady()
		return
	}
	if t := a.tls; t != nil {
		switch {
		case d == poller.Readable && t.done != nil:
			a.clientHandshake()
		case d == poller.Writable && (a.writes == nil || a.writes.Len() == 0):
			if err := a.flushRaw(); err != nil {
				a.werr = err
			}
		}
	}
}

func (a *clientActor) Wants(d poller.Direction) bool {
	if d == poller.Writable && a.conn.state == connConnecting {
		return true
	}
	if t := a.tls; t != nil {
		if d == poller.Readable {
			return t.done != nil // the handshake waits for the server
		}
		return len(t.rawOut) > 0
	}
	return false
}

// cancel ends a connect attempt in progress: the socket is closing.
func (a *clientActor) Cancel(code messages.IOStatus) {
	if t := a.tls; t != nil {
		t.abort(errHandshakeAborted)
		a.clientHandshake() // a DialTLS waiting hears why
	}
	c := &a.conn
	if c.state == connResolving || c.state == connConnecting {
		core.StopTimer(c.timer)
		if c.cancel != nil {
			c.cancel()
		}
		c.state, c.result = connDone, messages.Rejection(&messages.Connect{}, code).(*messages.ConnectResult)
	}
}

func (a *clientActor) abort(ctx actor.Context, cmd *messages.Abort, reply core.Replier) {
	if a.core.Closed() {
		core.Reject(reply, cmd, messages.IOStatus_IO_STATUS_CLOSED)
		return
	}
	if sock := a.core.Socket(); sock != nil {
		_ = sock.SetLinger(0)
	}
	a.core.Close(messages.IOStatus_IO_STATUS_CANCELLED)
	reply.Reply(&messages.Status{Op: "abort"})
	ctx.Stop(ctx.Self())
}

// SocketCore returns the actor's core.
func (a *clientActor) SocketCore() *core.Core { return a.core }
