package tcp

// The write side of a push-mode connection: the bounded write queue and
// its acknowledgments. A handler's Write and what it does at once are in
// conn_path.go.

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
	// A Written delivered above may have had the handler write, and that
	// write start a send of the queue's front: then the front is in
	// flight, and only its result moves the queue on.
	if a.queue.len() > 0 && !a.sending && (!a.ringSends() || !a.sendFront()) {
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

// writeQueue writes the queue with write(2) until it is empty, the
// socket is full, or a write the handler made from a Written started a
// send through the poller; false means the connection ended.
func (a *connActor) writeQueue() bool {
	sock := a.core.Socket()
	for a.queue.len() > 0 && !a.sending {
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
