package tcp

// The write side of a push-mode connection: the bounded write queue and
// its acknowledgments.

import (
	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/messages"
)

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
	} else {
		a.queue.push(queuedWrite{data: a.ownCopy(data), ack: ack})
		a.queued += n
	}
	a.checkFilled()
	return nil
}

// checkFilled tells the handler once the queue passes its high
// watermark; reading pauses until it drains.
func (a *connActor) checkFilled() {
	if !a.filled && a.queued > a.cfg.queueHigh {
		a.filled = true
		a.deliver(&messages.WriteQueueFilled{Queued: uint64(a.queued)}, nil)
	}
}

func (a *connActor) refuse(ack uint64, err error, async bool) error {
	if async {
		a.deliver(&messages.WriteFailed{Ack: ack, Status: a.status("write", err)}, nil)
	}
	return a.opError("write", err)
}

// serveWrites writes the queue in order and acknowledges each Write once
// all its bytes are in the kernel.
func (a *connActor) serveWrites() {
	if a.queue.len() == 0 {
		return // a spurious or first Ready: nothing to flush
	}
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
		a.deliver(&messages.WriteQueueDrained{Queued: uint64(a.queued)}, nil)
		a.kick() // reading waited for the queue to drain
	}
	if a.queue.len() == 0 && a.mode != open {
		a.flushThenClose()
	}
}

// written acknowledges a Write; ack 0 asks for no acknowledgment.
func (a *connActor) written(ack uint64) {
	if ack != 0 {
		a.deliver(&messages.Written{Ack: ack}, nil)
	}
}
