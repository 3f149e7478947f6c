package core

import (
	"time"

	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// Queue is a socket actor's FIFO of pending requests of one kind: a TCP
// client's reads or writes, a listener's accepts, a UDP peer's receives,
// Poll requests. The core that made it owns it, so a request's deadline,
// its caller's withdrawal and the socket's close reach it with no
// protocol code: the protocol serves the head when the socket is ready
// and answers it with Reply; everything else ends in answer.
//
// A queue holds at most MaxPending requests; one more is refused
// (answered with socket.ErrTooManyPending). Requests are held by value:
// queueing one allocates nothing once the queue has room, and only a
// request that has a timeout and is still pending after its first
// attempt pays for a timer.
//
// A Queue belongs to its actor: only the actor's Receive touches it.
type Queue[T any] struct {
	core *Core
	// answer answers a request that ends without being served: expired
	// (socket.ErrTimeout), withdrawn (socket.ErrCancelled), refused
	// (socket.ErrTooManyPending), failed (FailAll) or closed (the cause
	// of Core.Close). reply is nil for a request queued without one.
	answer func(req *T, reply Replier, err error)
	serve  func()
	dir    poller.Direction
	waits  bool // the requests wait for readiness in dir
	items  []queued[T]
	head   int // items[head:] are pending, oldest first
}

type queued[T any] struct {
	req   T
	reply Replier
	id    uint64
	timer *time.Timer
}

// pendingQueue is what the core sees of each of its queues.
type pendingQueue interface {
	expire(id uint64) bool
	withdraw(r Replier) bool
	FailAll(err error)
	// waiting reports the direction the queue waits for, if it holds
	// requests that wait for readiness.
	waiting() (poller.Direction, bool)
	ready(d poller.Direction)
}

// shrinkCap is the capacity above which an emptied queue lets its array
// go: a burst of requests does not pin memory for the socket's life.
const shrinkCap = 16

// NewQueue returns a queue owned by c, whose unserved requests end in
// answer. Make it while building the actor (SocketProps' newActor) or in
// its Receive.
func NewQueue[T any](c *Core, answer func(req *T, reply Replier, err error)) *Queue[T] {
	q := &Queue[T]{core: c, answer: answer}
	if c.queues == nil {
		c.queues = make([]pendingQueue, 0, 4) // a protocol has a few
	}
	c.queues = append(c.queues, q)
	return q
}

// WaitsFor makes the queue's requests wait for readiness in d: while it
// holds any, the core asks the poller for d, and serve runs when d is
// reported, when a request arrives at an empty queue (after asking for
// d, so no edge is lost), and when the head ends unserved (the next
// request may be ready at once). serve takes from the head with Head and
// Reply until it has to wait. It returns q.
func (q *Queue[T]) WaitsFor(d poller.Direction, serve func()) *Queue[T] {
	q.dir, q.waits, q.serve = d, true, serve
	return q
}

// Len returns the number of pending requests.
func (q *Queue[T]) Len() int { return len(q.items) - q.head }

// Head returns the oldest pending request, for serve to work on (nil if
// none). The pointer is valid until the queue next changes.
func (q *Queue[T]) Head() *T {
	if q.Len() == 0 {
		return nil
	}
	return &q.items[q.head].req
}

// HeadReply returns the head request's replier (nil if none): for Held.
func (q *Queue[T]) HeadReply() Replier {
	if q.Len() == 0 {
		return nil
	}
	return q.items[q.head].reply
}

// Discards reports whether the head's answer would go nowhere (queued
// without a replier, or with one that drops answers), so serve can skip
// building it.
func (q *Queue[T]) Discards() bool {
	r := q.items[q.head].reply
	return r == nil || Discards(r)
}

// Push queues req, to be answered through reply (nil: nobody waits for
// the answer), within timeout (0: none). A full queue refuses it: answer
// gets socket.ErrTooManyPending and Push reports false. A request that
// arrives at an empty queue is served at once; one still pending then
// gets its timer.
func (q *Queue[T]) Push(req T, reply Replier, timeout time.Duration) bool {
	if q.Len() >= MaxPending {
		r := new(T)
		*r = req
		q.answer(r, reply, socket.ErrTooManyPending)
		return false
	}
	if q.head > 0 && len(q.items) == cap(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	id := q.core.nextID()
	q.items = append(q.items, queued[T]{req: req, reply: reply, id: id})
	if q.Len() == 1 && q.serve != nil {
		q.core.Want(q.dir)
		q.serve()
	}
	if n := len(q.items); timeout > 0 && q.Len() > 0 && q.items[n-1].id == id {
		q.items[n-1].timer = q.core.deadlineAfter(timeout, q, id)
	}
	return true
}

// Reply answers the head request with res and drops it.
func (q *Queue[T]) Reply(res any) { q.replyAt(0, res) }

func (q *Queue[T]) pop() {
	q.items[q.head] = queued[T]{}
	q.head++
	if q.head == len(q.items) {
		q.head = 0
		q.items = q.items[:0]
		if cap(q.items) > shrinkCap {
			q.items = nil
		}
	}
}

// FailAll answers every pending request with err and empties the queue.
func (q *Queue[T]) FailAll(err error) {
	items := q.items[q.head:]
	q.items, q.head = nil, 0
	for i := range items {
		StopTimer(items[i].timer)
		q.answer(&items[i].req, items[i].reply, err)
	}
}

// cut takes the pending request at index i (0 is the head) out of the
// queue, its timer stopped.
func (q *Queue[T]) cut(i int) queued[T] {
	e := q.items[q.head+i]
	StopTimer(e.timer)
	if i == 0 {
		q.pop()
		return e
	}
	copy(q.items[q.head+i:], q.items[q.head+i+1:])
	q.items[len(q.items)-1] = queued[T]{}
	q.items = q.items[:len(q.items)-1]
	return e
}

// replyAt answers the pending request at index i with res and drops it.
func (q *Queue[T]) replyAt(i int, res any) {
	if e := q.cut(i); e.reply != nil {
		e.reply.Reply(res)
	}
}

// remove ends the pending request at index i with err; the next request
// is served if the head ended.
func (q *Queue[T]) remove(i int, err error) {
	e := q.cut(i)
	q.answer(&e.req, e.reply, err)
	if i == 0 && q.Len() > 0 && q.serve != nil {
		q.serve()
	}
}

func (q *Queue[T]) expire(id uint64) bool {
	for i := range q.Len() {
		if q.items[q.head+i].id == id {
			q.remove(i, socket.ErrTimeout)
			return true
		}
	}
	return false
}

func (q *Queue[T]) withdraw(r Replier) bool {
	for i := range q.Len() {
		if e := q.items[q.head+i].reply; e != nil && e == r {
			q.remove(i, socket.ErrCancelled)
			return true
		}
	}
	return false
}

func (q *Queue[T]) waiting() (poller.Direction, bool) {
	return q.dir, q.waits && q.Len() > 0
}

// wants reports whether the queue waits for readiness in d.
func (q *Queue[T]) wants(d poller.Direction) bool {
	dir, ok := q.waiting()
	return ok && dir == d
}

func (q *Queue[T]) ready(d poller.Direction) {
	if q.wants(d) {
		q.serve()
	}
}
