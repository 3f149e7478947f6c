package tcp

// The read side of a push-mode connection: reads under credit, lent
// buffers, end of stream.

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

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
			a.drained = true
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
			a.drained = true
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
		a.drained = true
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
	if n < len(p) && !a.core.Registration().HungUp() {
		a.drained = true
		return false
	}
	return true
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
	wasReadable := a.readable()
	a.credit += int(credit)
	if a.mode == open || a.mode == confirming {
		if wasReadable && a.drained {
			// The socket was empty at the last read and readiness has been
			// wanted ever since: new data brings a Ready. Reading now
			// would only meet EAGAIN.
			return
		}
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
