package tcp

// Writes through the poller (io_uring's batched send, poller/send.go): a
// connection that runs on its poller's loop queues its write as a send
// request instead of calling write(2), and the loop submits every
// connection's sends of one turn in one system call. The result comes
// back as a Ready(Writable) and is applied to the write queue's front as
// write(2)'s would be: bytes taken (a short send goes on from the
// offset), EAGAIN (wait for writability), or the error that ends the
// connection with the same status.
//
// The bytes of a send must stay put until its result: the queue's front
// is in flight (a.sending), and nothing before the result moves or
// reuses it. A write that write(2) would have taken at once (the
// connection is not backlogged) is copied into a pooled stage, as the
// kernel would have copied it, since its caller may reuse its buffer
// once Write returns; small writes of one handler call share a stage
// (they become one send). A stage goes back to its pool when its bytes
// are sent, never while the kernel may still read them: a connection
// that closes with a send in flight leaves that stage to the collector
// (the poller keeps it alive until the send's completion).

import (
	"sync"

	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/poller"
)

// stageBuf is a pooled copy of writes in the queue.
type stageBuf struct{ b []byte }

// stageClasses are the stages' sizes; a write longer than the last is
// queued as it is (see write).
var stageClasses = [...]int{4 << 10, 64 << 10}

var stagePools [len(stageClasses)]sync.Pool

// maxStage is the longest write copied into a stage.
const maxStage = 64 << 10

// getStage returns an empty stage with room for n bytes (n <= maxStage).
func getStage(n int) *stageBuf {
	for i, size := range stageClasses {
		if n <= size {
			if s, ok := stagePools[i].Get().(*stageBuf); ok {
				return s
			}
			return &stageBuf{b: make([]byte, 0, size)}
		}
	}
	return &stageBuf{b: make([]byte, 0, n)}
}

// putStage gives s back to its pool.
func putStage(s *stageBuf) {
	for i, size := range stageClasses {
		if cap(s.b) == size {
			s.b = s.b[:0]
			stagePools[i].Put(s)
			return
		}
	}
}

// ringSends reports whether the connection's writes go through its
// poller's send now: it runs on its poller's loop, and the poller sends
// for it (io_uring, poller.SendEnv not 0). A TLS connection's records
// go too (writeTLS).
func (a *connActor) ringSends() bool {
	return a.core.OnLoop() && a.core.Registration().Sends()
}

// stageLimit bounds the stages' memory of one connection: it stands for
// the socket's send buffer, which write(2) would have filled first.
const stageLimit = 256 << 10

// stage queues a copy of data (not longer than maxStage) where the
// connection is not backlogged, in the tail's stage when it has room
// (and no acknowledgment of its own, which would then come late), and
// reports whether it did. Its bytes are free: as bytes write(2) would
// have handed to the kernel at once, they do not count in the queue's
// bytes (its limit and watermarks) unless the socket turns out to be
// full before they are sent (backlogged).
func (a *connActor) stage(data []byte, ack uint64) bool {
	n := len(data)
	if a.backlog || n > maxStage {
		return false
	}
	if k := a.queue.len(); k > 0 {
		t := &a.queue.items[len(a.queue.items)-1]
		inFlight := a.sending && k == 1
		if s := t.stage; s != nil && t.free && !inFlight && t.ack == 0 && t.off == 0 && cap(s.b)-len(s.b) >= n {
			s.b = append(s.b, data...)
			t.data, t.ack = s.b, ack
			return true
		}
	}
	if a.staged+n > stageLimit {
		return false
	}
	s := getStage(n)
	s.b = append(s.b, data...)
	a.staged += cap(s.b)
	a.queue.push(queuedWrite{data: s.b, ack: ack, stage: s, free: true})
	return true
}

// backlogged notes that the socket is full: what is queued now is what
// write(2) would have left queued, and counts in the queue's bytes.
func (a *connActor) backlogged() {
	a.backlog = true
	for i := a.queue.head; i < len(a.queue.items); i++ {
		if w := &a.queue.items[i]; w.free {
			w.free = false
			a.queued += len(w.data) - w.off
		}
	}
	a.checkFilled()
}

// popWrite drops the queue's front, whose bytes are all sent (or which
// failed), and gives its stage back unless the kernel may still read it.
func (a *connActor) popWrite(inFlight bool) {
	if s := a.queue.front().stage; s != nil {
		a.staged -= cap(s.b)
		if !inFlight {
			putStage(s)
		}
	}
	a.queue.pop()
	if a.queue.len() == 0 {
		a.backlog = false
	}
}

// startSend sends the queue's front through the poller after a write
// staged it, unless a send is in flight or the socket is full (their
// ends move the queue on); what the poller does not take, write(2)
// writes.
func (a *connActor) startSend() {
	if a.queue.len() > 0 && !a.sending && !a.backlog && !a.sendFront() {
		a.serveWrites()
	}
}

// sendFront sends the queue's front through the poller. It reports false
// if the poller did not take it (then write(2) writes it) or the
// connection ended (an injected fault).
func (a *connActor) sendFront() bool {
	if err := a.core.Socket().WriteFault(); err != nil {
		a.core.Count(false, 0, err)
		if err == unix.EAGAIN {
			a.backlogged()
			return true // as write(2)'s EAGAIN: wait for writability
		}
		a.finish("write", err)
		return true
	}
	w := a.queue.front()
	if !a.core.Registration().Send(w.data[w.off:]) {
		return false
	}
	a.sending = true
	return true
}

// sendDone applies the result of the send in flight. It reports whether
// the queue may be written on now (false: the send has not completed,
// the socket is full, or the connection ended).
func (a *connActor) sendDone() bool {
	reg := a.core.Registration()
	n, err, done := reg.SendResult()
	if !done {
		return false
	}
	a.sending = false
	if err == poller.ErrSendStopped {
		return true // not sent: write(2) writes it
	}
	a.core.Count(false, n, err)
	switch {
	case err == unix.EAGAIN:
		a.backlogged()
		return false
	case err != nil:
		a.finish("write", err)
		return false
	}
	w := a.queue.front()
	w.off += n
	if !w.free {
		a.queued -= n
	}
	if w.off < len(w.data) {
		a.backlogged() // short: the socket is full, as after a short write(2)
	} else {
		ack := w.ack
		a.popWrite(false)
		a.written(ack)
	}
	return a.mode != closedConn
}
