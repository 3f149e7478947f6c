package tcp

// A push-mode connection's event path on epoll, in the order a Ready runs
// it: the reads (Ready, serveReads, readNext, readInto), the handler's
// call (lend, deliver, HandleMessage), and the writes the handler makes
// (Write, WriteAck, write). conn_path_tls.go is the TLS layer's part.
// (io_uring's receives and sends, conn_sends.go, are not here.)
//
// They live apart from their concepts' files (conn_reads.go,
// conn_writes.go, conn_actor.go, handler.go, tls.go) for their layout:
// Go's linker places a package's functions in the order of its files and
// of their declarations, so these fill four consecutive pages of code
// where they had filled nine scattered ones. Where the kernel isolates
// its page tables without PCID (the Meltdown mitigation on CPUs that lack
// it, as on the machine this was measured on) every system call empties
// the TLB, and every page of code an event touches costs a page walk
// after each read(2) and write(2): see the README ("How a poller's loop
// waits"). TestEventPathIsContiguous keeps them together.

import (
	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// readsPerReady bounds the reads of one read loop: a connection whose
// socket never runs dry (a peer that sends faster than the handler takes)
// then asks its poller for another Ready and lets the poller serve its
// other sockets first, instead of holding it for as long as the peer
// sends.
const readsPerReady = 16

// Ready continues the connection's work after readiness in d (core.Protocol).
func (a *connActor) Ready(d poller.Direction) {
	if d == poller.Readable {
		a.drained = false
		a.serveReads()
	} else {
		a.serveWrites()
	}
}

// serveReads reads while the connection is readable, up to readsPerReady
// reads, and hands each read (each frame, with framing) to the handler.
func (a *connActor) serveReads() {
	if a.reading || a.core.Registration() == nil {
		// The loop below is running and looks again, or the socket's
		// first Ready (which reads) has not come yet.
		return
	}
	a.reading = true
	defer func() { a.reading = false }()
	if a.tls != nil && !a.tls.established() && !a.handshake() {
		return
	}
	a.deliverPending()
	for i := 0; a.readable(); i++ {
		if i == readsPerReady {
			// The socket may hold more, and no new edge comes for it.
			a.core.Registration().Again(poller.Readable)
			return
		}
		b, n, recv, err := a.readNext()
		switch {
		case err == unix.EAGAIN:
			a.cfg.bufs.put(b)
			a.drained = true
			return
		case err != nil:
			a.cfg.bufs.put(b)
			a.finish("read", err)
			return
		case n == 0:
			a.cfg.bufs.put(b)
			a.peerClosed()
			return
		}
		// A short read drained the socket; with TLS the layer knows
		// whether crypto/tls holds more.
		short := n < len(b.Data) && a.tls == nil && !recv
		if a.tls != nil {
			short = a.tls.dry()
		}
		if fr := a.fr; fr != nil {
			err = fr.decoder.feed(b.Data[:n], func(f []byte) { fr.pending = append(fr.pending, f) })
			a.cfg.bufs.put(b)
			if err != nil {
				a.finish("frame", err)
				return
			}
			a.deliverPending()
		} else {
			a.lend(b, n)
		}
		if short && a.mode != closedConn && a.core.Registration().ShortReadDrains() {
			a.drained = true
			return
		}
	}
}

// deliverPending hands decoded frames to the handler while it reads.
func (a *connActor) deliverPending() {
	fr := a.fr
	if fr == nil {
		return
	}
	for len(fr.pending) > 0 && a.mayDeliver() {
		f := fr.pending[0]
		fr.pending[0] = nil
		fr.pending = fr.pending[1:]
		if a.reg != nil {
			a.credit--
			a.deliver(&messages.Received{Data: f}, nil)
			continue
		}
		fr.recv.Data = f
		a.deliver(&fr.recv, nil)
		fr.recv.Data = nil
	}
	if len(fr.pending) == 0 {
		fr.pending = nil
	}
}

// readable reports whether the connection should read now.
func (a *connActor) readable() bool {
	return !a.framesPending() && !a.eof && a.mayDeliver()
}

// Wants reports whether the actor waits for readiness in d beyond its
// queues (core.Protocol): reads while the handler may take more, writes
// while the queue holds some.
func (a *connActor) Wants(d poller.Direction) bool {
	if d == poller.Readable {
		if !a.readable() {
			a.drained = false // readiness is dropped: the next read must look
			return false
		}
		return true
	}
	return a.queue.len() > 0
}

// readNext reads what the handler gets next: the next bytes the poller
// received (into a buffer of its own), or the socket's (or the TLS
// layer's, which takes the poller's itself: ringRead) through readInto.
// recv says the bytes came from the poller: the queue, not a short read,
// says when the socket is drained.
func (a *connActor) readNext() (b *readBuf, n int, recv bool, err error) {
	if reg := a.core.Registration(); reg.Receives() && a.tls == nil {
		if err := a.core.Socket().ReadFault(); err != nil {
			a.core.Count(true, 0, err)
			return nil, 0, true, err
		}
		data, id, err := reg.NextRecv()
		switch {
		case err == nil && len(data) > 0:
			a.core.Count(true, len(data), nil)
			return recvBuf(reg, data, id), len(data), true, nil
		case err == nil:
			return nil, 0, true, nil // end of stream
		case err != poller.ErrRecvStopped:
			if err != unix.EAGAIN {
				a.core.Count(true, 0, err)
			}
			return nil, 0, true, err
		}
		// The poller's receive ended: read the socket to EAGAIN, then
		// arm it again (it tries the socket at once, so nothing that
		// arrives in between is missed).
		b = a.cfg.bufs.get()
		n, err = a.readInto(b.Data)
		if err == unix.EAGAIN {
			if aerr := reg.ArmRecv(); aerr != nil {
				// No receive and no readiness for input: look again
				// after the poller's other sockets.
				reg.Again(poller.Readable)
			}
		}
		return b, n, true, err
	}
	b = a.cfg.bufs.get()
	n, err = a.readInto(b.Data)
	return b, n, false, err
}

// readInto reads what the handler gets next: plaintext from the TLS
// layer, or the socket's bytes. (0, nil) is the end of the stream.
func (a *connActor) readInto(p []byte) (int, error) {
	if a.tls != nil {
		return a.tls.read(p)
	}
	n, err := a.core.Socket().Read(p)
	a.core.Count(true, n, err)
	return n, err
}

// lend hands the handler a Received over b for the call; b goes back to
// the pool when the call returns unless the handler retained it. A
// registered actor gets a copy.
func (a *connActor) lend(b *readBuf, n int) {
	if a.reg != nil {
		a.credit--
		a.deliver(&messages.Received{Data: append([]byte(nil), b.Data[:n]...)}, nil)
		a.cfg.bufs.put(b)
		return
	}
	b.N = n
	a.cur = b
	b.recv.Data = b.Data[:n:n]
	a.deliver(&b.recv, nil)
	b.recv.Data = nil
	if a.cur != nil {
		a.cfg.bufs.put(a.cur)
		a.cur = nil
	}
}

// get returns a buffer of the pool's size.
func (p *bufPool) get() *readBuf {
	if b, ok := p.pool.Get().(*readBuf); ok {
		return b
	}
	return &readBuf{LentBuffer: core.LentBuffer{Data: make([]byte, p.size)}}
}

// put returns b; its generation moves on, so no Loan of it works after.
// A buffer of the poller's (see recvBuf) goes back to the poller's ring.
func (p *bufPool) put(b *readBuf) {
	if b == nil {
		return
	}
	b.Recycle()
	if reg := b.ring; reg != nil {
		b.ring, b.Data = nil, nil
		reg.ReleaseRecv(b.bid)
		ringBufs.Put(b)
		return
	}
	p.pool.Put(b)
}

// deliver hands msg to the handler (see core.HandlerHost: events raised
// while it runs wait until it returns), then reads if the handler made
// the connection readable again.
func (a *connActor) deliver(msg any, sender *actor.PID) {
	if a.host.Deliver(a, msg, sender) && a.kickLater && !a.reading {
		a.kickLater = false
		a.kick()
	}
}

// HandleMessage runs the handler on one message (core.HandlerOwner).
func (a *connActor) HandleMessage(msg any) {
	if a.beh != nil {
		a.beh.receive(a, msg)
	}
	a.reply = nil // answered now or never
}

// receive hands msg to the connection's Handler. (A pointer method: a
// value one would be reached through the pointer wrapper the compiler
// makes, laid out apart from this file.)
func (p *plain) receive(a *connActor, msg any) { p.h.Receive(&a.conn, msg) }

// Receive calls f(c, msg).
func (f HandlerFunc) Receive(c *Conn, msg any) { f(c, msg) }

// Write writes p, or queues what the kernel does not take now; a
// Received's lent Data may be passed as it is (it is copied if queued).
// It refuses, with an error naming "write", a connection that is closing
// (net.ErrClosed), a p longer than the write queue (EMSGSIZE) or one that
// would overflow it (EAGAIN). A failure of the socket itself ends the
// connection with ErrorClosed.
func (c *Conn) Write(p []byte) error { return c.WriteAck(p, 0) }

// WriteAck is Write with an acknowledgment: once all of p is in the
// kernel the handler gets Written{Ack: ack}, or WriteFailed{Ack: ack} if
// the connection ends first. ack 0 asks for none.
func (c *Conn) WriteAck(p []byte, ack uint64) error {
	if err := c.check("write"); err != nil {
		return err
	}
	return c.a.write(p, ack, false)
}

func (c *Conn) check(op string) error {
	if !c.a.host.Running() {
		return &socket.OpError{Op: op, Net: netFor(c.a.remote), Addr: c.a.remote, Err: ErrOutsideHandler}
	}
	return nil
}

// write writes data, or queues what the kernel does not take now. A
// refused write returns its error; when it came as a message (async) the
// handler gets WriteFailed instead.
func (a *connActor) write(data []byte, ack uint64, async bool) error {
	if a.cfg.framing != nil && a.mode == open {
		framed, err := a.cfg.framing.encode(data)
		if err != nil {
			return a.refuse(ack, err, async)
		}
		data = framed
	}
	n := len(data)
	switch {
	case a.mode != open:
		return a.refuse(ack, errClosedConn, async)
	case n > a.cfg.queueLimit:
		return a.refuse(ack, errTooLong, async)
	case a.queued+n > a.cfg.queueLimit:
		return a.refuse(ack, errQueueFull, async)
	case n == 0:
		a.written(ack)
		return nil
	case a.tls != nil:
		return a.writeTLS(data, ack, async)
	}
	if a.ringSends() && (a.queue.len() > 0 || n <= maxStage) {
		// On the poller's loop: the poller sends the queue's front with
		// its next turn (conn_sends.go), for a copy where write(2) would
		// have taken the bytes at once. (A long write to an empty queue
		// is write(2)'s: a copy would cost more than the call.)
		if !a.stage(data, ack) {
			a.queue.push(queuedWrite{data: a.ownCopy(data), ack: ack})
			a.queued += n
		}
		a.startSend()
		a.checkFilled()
		return nil
	}
	if a.queue.len() == 0 {
		// Nothing queued: write at once, and queue only what the kernel
		// does not take now.
		wrote, err := a.core.WriteNow(data)
		switch {
		case err != nil:
			// Queued, so that the failure answers it as it would a
			// queued write (WriteFailed when the connection ends).
			a.queue.push(queuedWrite{data: a.ownCopy(data), ack: ack})
			a.queued += n
			a.finish("write", err)
			return a.opError("write", err)
		case wrote == n:
			a.written(ack)
			return nil
		}
		a.queue.push(queuedWrite{data: a.ownCopy(data[wrote:]), ack: ack})
		a.queued += n - wrote
		a.backlog = true
	} else {
		a.queue.push(queuedWrite{data: a.ownCopy(data), ack: ack})
		a.queued += n
	}
	a.checkFilled()
	return nil
}

// written acknowledges a Write; ack 0 asks for no acknowledgment.
func (a *connActor) written(ack uint64) {
	if ack != 0 {
		a.deliver(&messages.Written{Ack: ack}, nil)
	}
}

// checkFilled tells the handler once the queue passes its high
// watermark; reading pauses until it drains.
func (a *connActor) checkFilled() {
	if !a.filled && a.queued > a.cfg.queueHigh {
		a.filled = true
		a.deliver(&messages.WriteQueueFilled{Queued: uint64(a.queued)}, nil)
	}
}
