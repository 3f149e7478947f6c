package tcp

// The read side of a push-mode connection: reads into pooled buffers lent
// to the handler for the call, retained loans, end of stream. The reads
// an event makes, and the handler's call, are in conn_path.go.

import (
	"sync"
	"unsafe"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/poller"
)

// bufPool is a server's pool of read buffers, all of one size.
type bufPool struct {
	size int
	pool sync.Pool
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
