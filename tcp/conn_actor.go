package tcp

import (
	"fmt"
	"net/netip"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// closeMode is how a push-mode connection is being closed.
type closeMode int

const (
	open       closeMode = iota
	flushing             // Close: flush the queue, then close (FIN)
	confirming           // ConfirmedClose: flush, FIN, wait for the peer's FIN
	closedConn           // the fd is closed; the actor is stopping
)

// connActor is a push-mode connection: it reads under the handler's
// credit and sends Received, writes the handler's Writes from a
// byte-bounded queue and acknowledges each with Written, and reports
// PeerClosed, Closed and ErrorClosed. Its handler is its child: the
// handler's death closes the connection.
type connActor struct {
	core    *actors.Core
	cfg     *serverConfig
	self    *actor.PID
	handler *actor.PID
	remote  netip.AddrPort
	live    *atomic.Int64 // the listener's live count
	credit  int
	eof     bool
	mode    closeMode
	queue   writeQueue
	queued  int
	filled  bool // WriteQueueFilled sent, WriteQueueDrained not yet

	decoder decoder   // with framing
	pending [][]byte  // decoded frames waiting for credit
	loans   []*[]byte // buffers lent in Received (WithLoanedReads), oldest first

	idle idleCheck // WithIdleTimeout
}

// idleCheck closes a connection that moves no bytes: every half idle
// timeout it compares the actor's read and write counts with the last
// check's; two checks in a row with no change close it. The data path pays
// nothing for it.
type idleCheck struct {
	id    uint64
	timer *time.Timer
	seen  uint64
	quiet int
}

// errIdle is the cause of an idle close.
var errIdle = fmt.Errorf("no bytes moved for the idle timeout: %w", os.ErrDeadlineExceeded)

var _ actor.Actor = (*connActor)(nil)

type queuedWrite struct {
	data []byte
	off  int
	ack  uint64
}

// writeQueue is a FIFO of writes that reuses its storage: in the steady
// state queuing a write allocates nothing.
type writeQueue struct {
	items []queuedWrite
	head  int
}

func (q *writeQueue) len() int { return len(q.items) - q.head }

func (q *writeQueue) push(w queuedWrite) { q.items = append(q.items, w) }

func (q *writeQueue) front() *queuedWrite { return &q.items[q.head] }

func (q *writeQueue) pop() {
	q.items[q.head] = queuedWrite{}
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
}

// connProps are the props of the connection actor of an accepted socket;
// its supervisor strategy is the handlers'.
func connProps(sys *actors.System, sock *socket.Socket, remote netip.AddrPort, cfg *serverConfig, service string, live *atomic.Int64) *actor.Props {
	live.Add(1)
	props := actors.SocketProps(sys, sock, func(c *actors.Core) (actor.Actor, actors.Hooks) {
		c.SetKind("tcp.conn")
		c.SetService(service)
		a := &connActor{core: c, cfg: cfg, remote: remote, credit: cfg.credit, live: live}
		if cfg.framing != nil {
			a.decoder = cfg.framing.newDecoder()
		}
		return a, actors.Hooks{Ready: a.ready, Wants: a.wants, Cancel: a.cancel, Expire: a.expire}
	})
	return props.Configure(actor.WithSupervisor(cfg.strategy))
}

// Receive handles the handler's commands; the core handles the rest.
func (a *connActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.core.Handle(ctx)
		a.start(ctx)
		return
	case *actor.Stopped:
		a.live.Add(-1) // out of its listener's live count
		a.core.Handle(ctx)
		return
	case *actor.Terminated:
		if m.GetWho().Equal(a.handler) {
			a.terminate(ctx) // the handler died: nobody to serve
		}
		return
	}
	a.core.Receive(ctx, func(cmd proto.Message, reply actors.Replier) bool {
		switch cmd := cmd.(type) {
		case *messages.Write:
			a.write(cmd)
			if c := cmd.GetCredit(); c > 0 {
				a.resume(c)
			}
		case *messages.ResumeReading:
			a.resume(cmd.GetCredit())
		case *messages.Close:
			a.startClose(flushing, cmd, reply)
		case *messages.ConfirmedClose:
			a.startClose(confirming, cmd, reply)
		case *messages.Abort:
			if sock := a.core.Socket(); sock != nil {
				_ = sock.SetLinger(0)
			}
			reply.Reply(&messages.Status{Op: "abort"})
			a.finish("abort", nil)
		default:
			return false
		}
		return true
	})
}

func (a *connActor) start(ctx actor.Context) {
	a.self = ctx.Self()
	if a.core.Closed() {
		return // registration failed; the core is stopping the actor
	}
	a.handler = ctx.Spawn(a.cfg.handler)
	sock := a.core.Socket()
	local, _ := sock.LocalAddr()
	a.tell(&messages.Connected{
		Connection: messages.NewRef(a.self),
		Local:      messages.NewEndpoint(local),
		Remote:     messages.NewEndpoint(a.remote),
	})
	if a.cfg.idle > 0 {
		a.armIdle()
	}
	a.core.Want(poller.Readable)
	a.serveReads()
	a.core.UpdateWants()
}

func (a *connActor) armIdle() {
	a.idle.id = a.core.NextID()
	a.idle.timer = a.core.After(a.cfg.idle/2, a.idle.id)
}

// expire runs the idle check.
func (a *connActor) expire(id uint64) bool {
	if id != a.idle.id || a.mode == closedConn {
		return false
	}
	k := a.core.Counters()
	seen := k.Reads.Load() + k.Writes.Load()
	if seen != a.idle.seen {
		a.idle.seen, a.idle.quiet = seen, 0
	} else if a.idle.quiet++; a.idle.quiet >= 2 {
		a.finish("idle", errIdle)
		return true
	}
	a.armIdle()
	return true
}

func (a *connActor) tell(msg proto.Message) {
	a.core.System().Root().Send(a.handler, msg)
}

func (a *connActor) status(op string, err error) *messages.Status {
	return messages.StatusOf(op, netFor(a.remote), a.remote, err)
}

// serveReads reads and sends Received while the handler has credit; with
// framing, one per frame, holding decoded frames the credit does not cover
// (at most one read's worth) until ResumeReading.
func (a *connActor) serveReads() {
	a.deliverPending()
	sock := a.core.Socket()
	for a.readable() {
		if a.cfg.loans != nil && a.decoder == nil {
			if !a.readLoaned(sock) {
				return
			}
			continue
		}
		sp := scratch.Get().(*[]byte)
		p := (*sp)[:min(a.cfg.readSize, len(*sp))]
		n, err := sock.Read(p)
		a.core.Count(true, n, err)
		var data []byte
		if n > 0 && a.decoder == nil {
			data = append([]byte(nil), p[:n]...)
		} else if n > 0 {
			err = a.decoder.feed(p[:n], func(f []byte) { a.pending = append(a.pending, f) })
			if err != nil {
				scratch.Put(sp)
				a.finish("frame", err)
				return
			}
		}
		scratch.Put(sp)
		switch {
		case err == unix.EAGAIN:
			return
		case err != nil:
			a.finish("read", err)
			return
		case n == 0:
			a.peerClosed()
			return
		}
		if a.decoder == nil {
			a.credit--
			a.tell(&messages.Received{Data: data})
		} else {
			a.deliverPending()
		}
		if n < len(p) && !a.core.Registration().HungUp() {
			return
		}
	}
}

// readLoaned reads into a buffer from the loan pool and lends it in a
// Received; it reports whether to go on reading.
func (a *connActor) readLoaned(sock *socket.Socket) bool {
	bp, _ := a.cfg.loans.Get().(*[]byte)
	if bp == nil || cap(*bp) < a.cfg.readSize {
		b := make([]byte, a.cfg.readSize)
		bp = &b
	}
	p := (*bp)[:a.cfg.readSize]
	n, err := sock.Read(p)
	a.core.Count(true, n, err)
	switch {
	case err == unix.EAGAIN:
		a.cfg.loans.Put(bp)
		return false
	case err != nil:
		a.cfg.loans.Put(bp)
		a.finish("read", err)
		return false
	case n == 0:
		a.cfg.loans.Put(bp)
		a.peerClosed()
		return false
	}
	a.loans = append(a.loans, bp)
	a.credit--
	a.tell(&messages.Received{Data: p[:n:n]})
	return n == len(p) || a.core.Registration().HungUp()
}

// lent reports whether b lies in a buffer lent to the handler.
func (a *connActor) lent(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	for _, l := range a.loans {
		base := uintptr(unsafe.Pointer(unsafe.SliceData(*l)))
		if p >= base && p < base+uintptr(cap(*l)) {
			return true
		}
	}
	return false
}

// ownCopy returns b, copied if it lies in a lent buffer: what the
// connection queues must outlive the loan.
func (a *connActor) ownCopy(b []byte) []byte {
	if a.cfg.loans != nil && a.lent(b) {
		return append([]byte(nil), b...)
	}
	return b
}

// resume grants read credit and reads if it can. With loaned reads, each
// credit returns the oldest lent buffer to the pool.
func (a *connActor) resume(credit uint32) {
	if a.cfg.loans != nil {
		k := min(int(credit), len(a.loans))
		for i := 0; i < k; i++ {
			a.cfg.loans.Put(a.loans[i])
			a.loans[i] = nil
		}
		a.loans = a.loans[:copy(a.loans, a.loans[k:])]
	}
	a.credit += int(credit)
	if a.mode == open || a.mode == confirming {
		a.core.Want(poller.Readable)
		a.serveReads()
	}
}

// readable reports whether the connection should read now.
func (a *connActor) readable() bool {
	return a.credit > 0 && len(a.pending) == 0 && !a.eof && (a.mode == open || a.mode == confirming)
}

// deliverPending sends decoded frames while there is credit.
func (a *connActor) deliverPending() {
	for a.credit > 0 && len(a.pending) > 0 {
		a.credit--
		a.tell(&messages.Received{Data: a.pending[0]})
		a.pending[0] = nil
		a.pending = a.pending[1:]
	}
}

func (a *connActor) peerClosed() {
	a.eof = true
	if a.mode == confirming {
		a.finish("close", nil) // the peer's FIN confirms our close
		return
	}
	a.tell(&messages.PeerClosed{})
	if !a.cfg.keepOpen && a.mode == open {
		a.mode = flushing
		a.flushThenClose()
	}
}

func (a *connActor) write(cmd *messages.Write) {
	data := cmd.GetData()
	if a.cfg.framing != nil && a.mode == open {
		framed, err := a.cfg.framing.encode(data)
		if err != nil {
			a.tell(&messages.WriteFailed{Ack: cmd.GetAck(), Status: a.status("write", err)})
			return
		}
		data = framed
	}
	n := len(data)
	switch {
	case a.mode != open:
		a.tell(&messages.WriteFailed{Ack: cmd.GetAck(), Status: a.status("write", errClosedConn)})
		return
	case n > a.cfg.queueLimit:
		a.tell(&messages.WriteFailed{Ack: cmd.GetAck(), Status: a.status("write", unix.EMSGSIZE)})
		return
	case a.queued+n > a.cfg.queueLimit:
		a.tell(&messages.WriteFailed{Ack: cmd.GetAck(), Status: a.status("write", unix.EAGAIN)})
		return
	case n == 0:
		a.written(cmd.GetAck())
		return
	}
	if a.queue.len() == 0 {
		// Nothing queued: write at once, and queue only what the kernel
		// does not take now.
		wrote, err := a.core.Socket().Write(data)
		a.core.Count(false, wrote, err)
		switch {
		case err == unix.EAGAIN:
			wrote = 0
		case err != nil:
			// Queued, so that the failure answers it as it would a
			// queued write (WriteFailed when the connection ends).
			a.queue.push(queuedWrite{data: a.ownCopy(data), ack: cmd.GetAck()})
			a.queued += n
			a.finish("write", err)
			return
		case wrote == n:
			a.written(cmd.GetAck())
			return
		}
		a.queue.push(queuedWrite{data: a.ownCopy(data[wrote:]), ack: cmd.GetAck()})
		a.queued += n - wrote
		a.core.Want(poller.Writable)
	} else {
		a.queue.push(queuedWrite{data: a.ownCopy(data), ack: cmd.GetAck()})
		a.queued += n
	}
	if !a.filled && a.queued > a.cfg.queueHigh {
		a.filled = true
		a.tell(&messages.WriteQueueFilled{Queued: uint64(a.queued)})
	}
}

// serveWrites writes the queue in order and acknowledges each Write once
// all its bytes are in the kernel.
func (a *connActor) serveWrites() {
	sock := a.core.Socket()
	for a.queue.len() > 0 {
		w := a.queue.front()
		n, err := sock.Write(w.data[w.off:])
		a.core.Count(false, n, err)
		if err == unix.EAGAIN {
			break
		}
		if err != nil {
			a.finish("write", err)
			return
		}
		w.off += n
		a.queued -= n
		if w.off == len(w.data) {
			ack := w.ack
			a.queue.pop()
			a.written(ack)
		}
	}
	if a.filled && a.queued <= a.cfg.queueLow {
		a.filled = false
		a.tell(&messages.WriteQueueDrained{Queued: uint64(a.queued)})
	}
	if a.queue.len() == 0 && a.mode != open {
		a.flushThenClose()
	}
}

// written acknowledges a Write; ack 0 asks for no acknowledgment.
func (a *connActor) written(ack uint64) {
	if ack != 0 {
		a.tell(&messages.Written{Ack: ack})
	}
}

func (a *connActor) startClose(mode closeMode, cmd proto.Message, reply actors.Replier) {
	if a.mode != open {
		actors.Reject(reply, cmd, messages.IOStatus_IO_STATUS_CLOSED)
		return
	}
	a.mode = mode
	reply.Reply(&messages.Status{Op: messages.OpName(cmd)})
	if mode == confirming && a.eof {
		a.mode = flushing // the peer already closed: nothing to wait for
	}
	if a.queue.len() == 0 {
		a.flushThenClose()
	}
}

// flushThenClose runs once the queue is empty: Close closes; ConfirmedClose
// sends FIN and goes on reading until the peer's FIN.
func (a *connActor) flushThenClose() {
	if a.queue.len() > 0 {
		return
	}
	switch a.mode {
	case flushing:
		a.finish("close", nil)
	case confirming:
		if err := a.core.Socket().Shutdown(socket.Write); err != nil {
			a.finish("shutdown", err)
			return
		}
		a.credit = max(a.credit, 1) // keep reading to see the FIN
		a.core.Want(poller.Readable)
		a.serveReads()
	}
}

// finish closes the fd and tells the handler Closed (err nil) or
// ErrorClosed with the failure of op, then a PoisonPill: the handler
// handles the last event, stops, and its Terminated stops this actor.
func (a *connActor) finish(op string, err error) {
	if a.mode == closedConn {
		return
	}
	a.mode = closedConn
	if err != nil {
		a.tell(&messages.ErrorClosed{Cause: a.status(op, err)})
	} else {
		a.tell(&messages.Closed{})
	}
	a.core.Close(messages.IOStatus_IO_STATUS_CLOSED)
	a.core.System().Root().Send(a.handler, &actor.PoisonPill{})
}

// terminate closes at once, with no events: the handler is gone.
func (a *connActor) terminate(ctx actor.Context) {
	a.mode = closedConn
	a.core.Close(messages.IOStatus_IO_STATUS_CLOSED)
	ctx.Stop(a.self)
}

func (a *connActor) ready(d poller.Direction) {
	if d == poller.Readable {
		a.serveReads()
	} else {
		a.serveWrites()
	}
}

func (a *connActor) wants(d poller.Direction) bool {
	if d == poller.Readable {
		return a.readable()
	}
	return a.queue.len() > 0
}

// cancel runs when the socket closes under the actor (stop, system stop):
// queued writes fail.
func (a *connActor) cancel(code messages.IOStatus) {
	if a.idle.timer != nil {
		a.idle.timer.Stop()
	}
	for a.queue.len() > 0 {
		a.tell(&messages.WriteFailed{Ack: a.queue.front().ack, Status: &messages.Status{Code: code, Op: "write"}})
		a.queue.pop()
	}
	a.queued = 0
}
