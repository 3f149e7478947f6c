package tcp

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// MaxRecv bounds the max of Recv and the n of RecvExact: a larger request
// is refused as invalid rather than allocated.
const MaxRecv = 64 << 20

// clientActor is a TCP client: one connection, its reads served in order
// from one FIFO and its writes from another, so one reader and one writer
// can be in flight at once and two readers never interleave.
type clientActor struct {
	core   *actors.Core
	conn   connector
	remote netip.AddrPort
	reads  []*readReq
	writes []*writeReq
	rerr   error // sticky: end of stream or a read error
	werr   error // sticky: a write error
}

var _ actor.Actor = (*clientActor)(nil)

type readReq struct {
	id    uint64
	cmd   proto.Message
	exact bool
	max   int
	buf   []byte // RecvExact: the whole n bytes
	got   int
	reply actors.Replier
	timer *time.Timer
}

type writeReq struct {
	id    uint64
	data  []byte
	off   int
	reply actors.Replier
	timer *time.Timer
}

// scratch buffers for Recv: read into one, copy out what arrived.
var scratch = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

func newClientActor(c *actors.Core) *clientActor {
	c.SetKind("tcp.client")
	return &clientActor{core: c}
}

func (a *clientActor) hooks() actors.Hooks {
	return actors.Hooks{
		Ready:    a.ready,
		Wants:    a.wants,
		Expire:   a.expire,
		Withdraw: a.withdraw,
		Cancel:   a.cancel,
	}
}

// Receive handles the client's commands; the core handles the rest.
func (a *clientActor) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(*resolved); ok {
		a.onResolved(m)
		a.core.UpdateWants()
		return
	}
	a.core.Receive(ctx, func(cmd proto.Message, reply actors.Replier) bool {
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
func (a *clientActor) ioGate(op string, cmd proto.Message, reply actors.Replier) bool {
	switch {
	case a.core.Closed():
		actors.Reject(reply, cmd, messages.IOStatus_IO_STATUS_CLOSED)
	case !a.connected():
		st := messages.StatusOf(op, "tcp", netip.AddrPort{}, unix.ENOTCONN)
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
	return messages.StatusOf(op, netFor(a.remote), a.remote, err)
}

// resultFor builds cmd's result with status st.
func resultFor(cmd proto.Message, st *messages.Status, data []byte, sent int) proto.Message {
	if _, ok := cmd.(*messages.Send); ok {
		return &messages.SendResult{Status: st, BytesSent: uint64(sent)}
	}
	return &messages.RecvResult{Status: st, Data: data}
}

func (a *clientActor) recv(cmd proto.Message, reply actors.Replier, exact bool, n int64, timeoutMS uint32) {
	op := messages.OpName(cmd)
	if !a.ioGate(op, cmd, reply) {
		return
	}
	switch {
	case n == 0:
		reply.Reply(&messages.RecvResult{Status: a.status(op, nil), Data: []byte{}})
		return
	case n > MaxRecv:
		reply.Reply(&messages.RecvResult{Status: a.status(op, errInvalidSize)})
		return
	case a.rerr != nil && len(a.reads) == 0:
		reply.Reply(&messages.RecvResult{Status: a.status(op, a.rerr)})
		return
	}
	// A RecvExact's buffer grows as bytes arrive (growExact): memory
	// follows the data, never the size a caller asked for.
	if len(a.reads) >= actors.MaxPending {
		reply.Reply(&messages.RecvResult{Status: a.status(op, socket.ErrTooManyPending)})
		return
	}
	r := &readReq{id: a.core.NextID(), cmd: cmd, exact: exact, max: int(n), reply: reply}
	a.reads = append(a.reads, r)
	if len(a.reads) == 1 {
		a.core.Want(poller.Readable)
		a.serveReads()
	}
	if len(a.reads) > 0 && a.reads[len(a.reads)-1] == r && timeoutMS > 0 {
		r.timer = a.core.After(actors.Timeout(timeoutMS), r.id)
	}
}

var errInvalidSize = fmt.Errorf("%w: size out of range", errInvalid)

// serveReads reads for the head request until it is served, the socket
// is drained, or the stream ends or fails.
func (a *clientActor) serveReads() {
	sock := a.core.Socket()
	for len(a.reads) > 0 {
		r := a.reads[0]
		var p []byte
		var sp *[]byte
		if r.exact {
			if r.got == len(r.buf) {
				r.buf = growExact(r.buf, r.got, r.max)
			}
			p = r.buf[r.got:]
		} else {
			sp = scratch.Get().(*[]byte)
			p = (*sp)[:min(r.max, len(*sp))]
		}
		n, err := sock.Read(p)
		a.core.Count(true, n, err)
		if err == nil && n > 0 && !r.exact {
			a.popRead(&messages.RecvResult{Status: a.status("recv", nil), Data: append([]byte(nil), p[:n]...)})
		}
		if sp != nil {
			scratch.Put(sp)
		}
		switch {
		case err == unix.EAGAIN:
			return
		case err != nil:
			a.rerr = err
			a.failReads(err)
			return
		case n == 0:
			a.rerr = io.EOF
			a.failReads(io.EOF)
			return
		}
		if r.exact {
			r.got += n
			if r.got == r.max {
				a.popRead(&messages.RecvResult{Status: a.status("recvexact", nil), Data: r.buf[:r.got]})
			}
		}
		if n < len(p) && !a.core.Registration().HungUp() {
			return // drained: the next data brings a new edge
		}
	}
}

// growExact gives a RecvExact's buffer room for more: twice what it has,
// at least 64 KiB, at most the size asked for.
func growExact(buf []byte, got, want int) []byte {
	nb := make([]byte, min(want, max(2*len(buf), 64<<10)))
	copy(nb, buf[:got])
	return nb
}

func (a *clientActor) popRead(res *messages.RecvResult) {
	r := a.reads[0]
	actors.StopTimer(r.timer)
	a.reads[0] = nil
	a.reads = a.reads[1:]
	r.reply.Reply(res)
}

// failReads answers every read with err; RecvExact keeps its prefix.
func (a *clientActor) failReads(err error) {
	for _, r := range a.reads {
		actors.StopTimer(r.timer)
		r.reply.Reply(&messages.RecvResult{Status: a.status(messages.OpName(r.cmd), err), Data: r.prefix()})
	}
	a.reads = nil
}

func (r *readReq) prefix() []byte {
	if r.exact {
		return r.buf[:r.got]
	}
	return nil
}

func (a *clientActor) send(cmd *messages.Send, reply actors.Replier) {
	if !a.ioGate("send", cmd, reply) {
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
	if len(a.writes) >= actors.MaxPending {
		reply.Reply(&messages.SendResult{Status: a.status("send", socket.ErrTooManyPending)})
		return
	}
	w := &writeReq{id: a.core.NextID(), data: cmd.GetData(), reply: reply}
	a.writes = append(a.writes, w)
	if len(a.writes) == 1 {
		a.core.Want(poller.Writable)
		a.serveWrites()
	}
	if len(a.writes) > 0 && a.writes[len(a.writes)-1] == w && cmd.GetTimeoutMs() > 0 {
		w.timer = a.core.After(actors.Timeout(cmd.GetTimeoutMs()), w.id)
	}
}

// serveWrites writes the queued sends in order until the kernel's buffer
// is full or a write fails.
func (a *clientActor) serveWrites() {
	sock := a.core.Socket()
	for len(a.writes) > 0 {
		w := a.writes[0]
		n, err := sock.Write(w.data[w.off:])
		a.core.Count(false, n, err)
		switch {
		case err == unix.EAGAIN:
			return
		case err != nil:
			a.werr = err
			for _, w := range a.writes {
				actors.StopTimer(w.timer)
				w.reply.Reply(&messages.SendResult{Status: a.status("send", err), BytesSent: uint64(w.off)})
			}
			a.writes = nil
			return
		}
		w.off += n
		if w.off == len(w.data) {
			actors.StopTimer(w.timer)
			a.writes[0] = nil
			a.writes = a.writes[1:]
			w.reply.Reply(&messages.SendResult{Status: a.status("send", nil), BytesSent: uint64(w.off)})
		}
	}
}

func (a *clientActor) ready(d poller.Direction) {
	switch {
	case d == poller.Writable && a.conn.state == connConnecting:
		a.connectReady()
		fallthrough
	case d == poller.Writable:
		if a.connected() {
			a.serveWrites()
		}
	case d == poller.Readable && a.connected():
		a.serveReads()
	}
}

func (a *clientActor) wants(d poller.Direction) bool {
	if d == poller.Readable {
		return len(a.reads) > 0
	}
	return a.conn.state == connConnecting || len(a.writes) > 0
}

// expire times out request id: the connect attempt, a read (RecvExact
// keeps its prefix) or a send (reporting the bytes already sent).
func (a *clientActor) expire(id uint64) bool {
	if c := &a.conn; id == c.id && (c.state == connResolving || c.state == connConnecting) {
		a.finishConnect(messages.ConnectStatus_CONNECT_STATUS_TIMEOUT, os.ErrDeadlineExceeded, a.remote)
		return true
	}
	return a.finish(func(r *readReq) bool { return r.id == id }, func(w *writeReq) bool { return w.id == id }, os.ErrDeadlineExceeded)
}

// withdraw answers a request whose caller stopped waiting as cancelled.
func (a *clientActor) withdraw(rp actors.Replier) bool {
	c := &a.conn
	for i, w := range c.waiters {
		if w == rp {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			actors.Reject(rp, &messages.Connect{}, messages.IOStatus_IO_STATUS_CANCELLED)
			return true
		}
	}
	return a.finish(func(r *readReq) bool { return r.reply == rp }, func(w *writeReq) bool { return w.reply == rp }, errCancelled)
}

// finish answers and drops the first read or write that matches, with err.
func (a *clientActor) finish(isRead func(*readReq) bool, isWrite func(*writeReq) bool, err error) bool {
	for i, r := range a.reads {
		if isRead(r) {
			actors.StopTimer(r.timer)
			a.reads = append(a.reads[:i], a.reads[i+1:]...)
			r.reply.Reply(&messages.RecvResult{Status: a.status(messages.OpName(r.cmd), err), Data: r.prefix()})
			if i == 0 && len(a.reads) > 0 && a.rerr == nil {
				a.serveReads() // the next reader may already have data
			}
			return true
		}
	}
	for i, w := range a.writes {
		if isWrite(w) {
			actors.StopTimer(w.timer)
			a.writes = append(a.writes[:i], a.writes[i+1:]...)
			w.reply.Reply(&messages.SendResult{Status: a.status("send", err), BytesSent: uint64(w.off)})
			return true
		}
	}
	return false
}

// cancel answers everything pending: the socket is closing.
func (a *clientActor) cancel(code messages.IOStatus) {
	c := &a.conn
	if c.state == connResolving || c.state == connConnecting {
		actors.StopTimer(c.timer)
		if c.cancel != nil {
			c.cancel()
		}
		res := messages.Rejection(&messages.Connect{}, code).(*messages.ConnectResult)
		c.state, c.result = connDone, res
		for _, w := range c.waiters {
			w.Reply(res)
		}
		c.waiters = nil
	}
	err := causeOf(code)
	a.failReads(err)
	for _, w := range a.writes {
		actors.StopTimer(w.timer)
		w.reply.Reply(&messages.SendResult{Status: a.status("send", err), BytesSent: uint64(w.off)})
	}
	a.writes = nil
}

func (a *clientActor) abort(ctx actor.Context, cmd *messages.Abort, reply actors.Replier) {
	if a.core.Closed() {
		actors.Reject(reply, cmd, messages.IOStatus_IO_STATUS_CLOSED)
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
func (a *clientActor) SocketCore() *actors.Core { return a.core }
