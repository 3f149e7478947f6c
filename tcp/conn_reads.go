package tcp

// The read side of a push-mode connection: reads into pooled buffers lent
// to the handler for the call, retained loans, end of stream.

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
)

// bufPool is a server's pool of read buffers, all of one size.
type bufPool struct {
	size int
	pool sync.Pool
}

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

// ringBufs holds the readBufs that lend bytes the poller received into
// its own buffers (io_uring: poller.Registration.NextRecv); their Data
// is set for each loan.
var ringBufs sync.Pool

// recvBuf wraps bytes the poller received, in its buffer id, as a
// readBuf to lend: it goes back to the poller when put.
func recvBuf(reg *poller.Registration, data []byte, id uint16) *readBuf {
	b, ok := ringBufs.Get().(*readBuf)
	if !ok {
		b = &readBuf{}
	}
	b.Data, b.ring, b.bid = data[:len(data):len(data)], reg, id
	return b
}

// readNext reads what the handler gets next: the next bytes the poller
// received (into a buffer of its own), or the socket's through readInto.
// recv says the bytes came from the poller: the queue, not a short read,
// says when the socket is drained.
func (a *connActor) readNext() (b *readBuf, n int, recv bool, err error) {
	if reg := a.core.Registration(); reg.Receives() {
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

// readsPerReady bounds the reads of one read loop: a connection whose
// socket never runs dry (a peer that sends faster than the handler takes)
// then asks its poller for another Ready and lets the poller serve its
// other sockets first, instead of holding it for as long as the peer
// sends.
const readsPerReady = 16

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

// framesPending reports whether decoded frames wait for the handler.
func (a *connActor) framesPending() bool { return a.fr != nil && len(a.fr.pending) > 0 }

// retain moves the buffer of the Received being handled to the retained
// list and returns its Loan. A frame (with framing) is the handler's
// already; its Loan only wraps it.
func (a *connActor) retain() Loan {
	if a.cur == nil {
		if a.fr != nil && a.fr.recv.Data != nil {
			return core.LoanOf(a.fr.recv.Data)
		}
		return Loan{}
	}
	b := a.cur
	a.cur = nil
	x := a.extra()
	x.retained = append(x.retained, b)
	return b.Lend(a)
}

// ReleaseLoan takes a retained buffer back, by identity, and reads again
// if the retained buffers were what held reading back.
func (a *connActor) ReleaseLoan(lb *core.LentBuffer) {
	if a.x == nil {
		return
	}
	for i, b := range a.x.retained {
		if &b.LentBuffer == lb {
			a.x.retained = append(a.x.retained[:i], a.x.retained[i+1:]...)
			a.cfg.bufs.put(b)
			a.kick()
			return
		}
	}
}

// dropLoans takes back every retained buffer (the handler that held them
// is gone); their Loans stop working.
func (a *connActor) dropLoans() {
	if a.x == nil {
		return
	}
	for i, b := range a.x.retained {
		a.cfg.bufs.put(b)
		a.x.retained[i] = nil
	}
	a.x.retained = a.x.retained[:0]
}

// lent reports whether p lies in a buffer lent to the handler.
func (a *connActor) lent(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	in := func(b *readBuf) bool {
		base := uintptr(unsafe.Pointer(unsafe.SliceData(b.Data)))
		q := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
		return q >= base && q < base+uintptr(cap(b.Data))
	}
	if a.cur != nil && in(a.cur) {
		return true
	}
	if a.x == nil {
		return false
	}
	for _, b := range a.x.retained {
		if in(b) {
			return true
		}
	}
	return false
}

// ownCopy returns p, copied if it lies in a lent buffer: what the
// connection queues must outlive the loan.
func (a *connActor) ownCopy(p []byte) []byte {
	if a.lent(p) {
		return append([]byte(nil), p...)
	}
	return p
}

// resume handles ResumeReading (and Write.credit): credit for a
// registered actor, the end of PauseReading for a handler.
func (a *connActor) resume(credit uint32) {
	if a.reg != nil {
		a.credit += int(credit)
	} else {
		a.paused = false
	}
	a.kick()
}

// kick reads if the connection became readable. While the handler runs it
// only notes it: reading resumes when the handler returns.
func (a *connActor) kick() {
	if a.host.Running() {
		a.kickLater = true
		return
	}
	if !a.readable() && !(a.framesPending() && a.mayDeliver()) {
		return
	}
	if a.drained && (a.tls == nil || !a.tls.mayHold()) {
		// The socket was empty at the last read and readiness has been
		// wanted ever since: new data brings a Ready.
		return
	}
	a.core.Want(poller.Readable)
	a.serveReads()
}

// mayDeliver reports whether the handler takes Received now.
func (a *connActor) mayDeliver() bool {
	if a.mode != open && a.mode != confirming {
		return false
	}
	if a.reg != nil {
		return a.credit > 0
	}
	return !a.paused && !a.filled && a.retainedCount() < a.cfg.credit
}

// readable reports whether the connection should read now.
func (a *connActor) readable() bool {
	return !a.framesPending() && !a.eof && a.mayDeliver()
}

func (a *connActor) peerClosed() {
	a.eof = true
	if a.mode == confirming {
		a.finish("close", nil) // the peer's FIN confirms our close
		return
	}
	a.deliver(peerClosedEvent, nil)
	if !a.cfg.keepOpen && a.reg == nil && a.mode == open {
		a.mode = flushing
		if a.tls != nil {
			a.tls.closeNotify()
		}
		a.flushThenClose()
	}
}
