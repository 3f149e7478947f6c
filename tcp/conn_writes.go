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
	// stage holds data when it is a copy of the connection's; free says
	// its bytes are not counted in the queue's bytes (conn_sends.go).
	stage *stageBuf
	free  bool
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
	if a.ringSends() && (a.queue.len() > 0 || n <= maxStage) {
		// On the poller's loop: the poller sends the queue's front with
		// its next turn (conn_sends.go), for a copy where write(2) would
		// have taken the bytes at once. (A long write to an empty queue
		// is write(2)'s: a copy would cost more than the call.)
		if !a.stage(data, ack) {
			a.queue.push(queuedWrite{data: a.ownCopy(data), ack: ack})
			a.queued += n
		}
		if !a.sending && a.queue.len() == 1 && !a.backlog && !a.sendFront() {
			a.serveWrites() // the poller did not take it: write(2)
		}
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
// all its bytes are in the kernel: through the poller's send on its loop
// (one send in flight, its result first), with write(2) elsewhere.
func (a *connActor) serveWrites() {
	if a.sending {
		if !a.sendDone() {
			return // in flight, the socket full, or the connection ended
		}
	} else if a.queue.len() == 0 {
		return // a spurious or first Ready: nothing to flush
	}
	if a.queue.len() > 0 && (!a.ringSends() || !a.sendFront()) {
		if !a.writeQueue() {
			return
		}
	}
	if a.mode == closedConn {
		return
	}
	if a.filled && a.queued <= a.cfg.queueLow {
		a.filled = false
		a.deliver(&messages.WriteQueueDrained{Queued: uint64(a.queued)}, nil)
		a.kick() // reading waited for the queue to drain
	}
	if a.queue.len() == 0 && a.mode != open {
		a.flushThenClose() // (an empty queue has no send in flight)
	}
}

// writeQueue writes the queue with write(2) until it is empty or the
// socket is full; false means the connection ended.
func (a *connActor) writeQueue() bool {
	sock := a.core.Socket()
	for a.queue.len() > 0 {
		w := a.queue.front()
		n, err := sock.Write(w.data[w.off:])
		a.core.Count(false, n, err)
		if err == unix.EAGAIN {
			a.backlogged()
			break
		}
		if err != nil {
			a.finish("write", err)
			return false
		}
		w.off += n
		if !w.free {
			a.queued -= n
		}
		if w.off == len(w.data) {
			ack := w.ack
			a.popWrite(false)
			a.written(ack)
		}
	}
	return true
}

// written acknowledges a Write; ack 0 asks for no acknowledgment.
func (a *connActor) written(ack uint64) {
	if ack != 0 {
		a.deliver(&messages.Written{Ack: ack}, nil)
	}
}
