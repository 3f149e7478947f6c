package poller

import (
	"errors"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"
)

// This file is a Registration: one fd a poller (poller.go) watches for its
// owner, and the flags they share.

// Registration is one fd watched by a poller for one socket actor. Want,
// Unwant, Consumed and Deregister are safe from any goroutine; in actornet
// only the owning socket actor calls them.
type Registration struct {
	p   *Poller
	fd  int
	gen uint32
	pid *actor.PID
	// inbox, once set (DeliverTo), takes the Ready messages instead of
	// sender and pid: beside want and pending, so that a delivery reads
	// one line of the registration and goes straight to the mailbox.
	inbox   atomic.Pointer[Inbox]
	want    [2]atomic.Bool
	pending [2]atomic.Bool
	hungUp  atomic.Bool
	urgent  atomic.Bool // ShortReadDrains
	// readEdges counts the read readiness the poller has seen
	// (ReadEdges).
	readEdges atomic.Uint32
	msgs      [2]Ready
	// rx holds what the backend received for a RegisterRecv registration
	// (nil otherwise; recv.go).
	rx *rxQueue
	// tx is the send in flight where the backend sends (send.go).
	tx txState
}

// Inbox takes a registration's Ready messages straight from the loop
// (DeliverTo): in actornet a socket actor's mailbox. It must accept a
// message on any goroutine, and a Ready after its actor stopped.
type Inbox interface {
	PostUserMessage(msg interface{})
}

// DeliverTo sends the registration's Ready messages to in from now on
// instead of through the poller's Sender to its PID: the Sender's way
// reads the PID, its process and the process's mailbox field (three cache
// lines per event that 1,000 connections keep cold) to reach the same
// mailbox. Dropped still goes through the Sender. in must stay valid for
// the registration's life; it is safe from any goroutine.
func (r *Registration) DeliverTo(in *Inbox) { r.inbox.Store(in) }

// FD returns the registered fd.
func (r *Registration) FD() int { return r.fd }

// Want asks for a Ready message when direction d becomes ready. To never
// miss an edge, call Want before the syscall whose EAGAIN you will wait on,
// or retry that syscall after Want.
func (r *Registration) Want(d Direction) { r.want[d].Store(true) }

// Unwant stops Ready messages for d (one already in flight still arrives).
func (r *Registration) Unwant(d Direction) { r.want[d].Store(false) }

// SetWant is Want or Unwant as want says; it stores only a change (the
// owner is the only writer).
func (r *Registration) SetWant(d Direction, want bool) {
	if r.want[d].Load() != want {
		r.want[d].Store(want)
	}
}

// Consumed tells the poller the actor has taken the Ready for d: the next
// edge may send another. Call it before retrying the I/O, or an edge that
// lands in between is lost.
func (r *Registration) Consumed(d Direction) { r.pending[d].Store(false) }

// Deregister stops watching the fd. Call it before closing the fd. A Ready
// for this registration may still reach its owner afterwards (the owner
// ignores it: its Reg is no longer current), but none ever reaches a new
// registration of the same fd number: the kernel token carries a generation
// checked against the fd table.
func (r *Registration) Deregister() error {
	if !r.p.clear(r) {
		r.dropRecv() // dropped by the poller (dropAll) already
		return nil
	}
	r.p.live.Add(-1)
	err := r.p.be.Remove(r.fd)
	// After Remove: no completion comes for the registration any more.
	r.dropRecv()
	if err != nil && !errors.Is(err, unix.EBADF) && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}

// Again asks for another Ready for d once the poller has served the
// other fds that are ready: the way for an owner to stop a read (or
// write) loop before EAGAIN, so that one busy socket does not hold the
// poller, without losing the rest to edge triggering (no new edge comes
// for data already waiting). The Ready comes only while d is wanted, and
// as every Ready only when none is in flight; asking twice is harmless.
// It is safe from any goroutine; from the poller's own (an owner running
// inline) it costs no syscall.
func (r *Registration) Again(d Direction) {
	p := r.p
	p.againMu.Lock()
	p.again = append(p.again, againReq{r: r, d: d})
	p.hasAgain.Store(true)
	p.againMu.Unlock()
	if p.sleeping.Load() {
		_ = p.wake()
	}
}

// Worked tells the poller that the readiness its owner just handled
// brought n units of work (the datagrams a busy datagram socket read on
// one Ready, say): the loop judges its waits by the work they bring
// (sleep.go), and counts one unit an event otherwise. Call it from the
// Ready's handling.
func (r *Registration) Worked(n int) {
	if n > 1 {
		r.p.worked.Add(int64(n - 1))
	}
}

// ReadEdges returns how many times the poller has seen the fd readable,
// wanted or not (modulo 2^32). It lets an owner skip a syscall that could
// only fail with EAGAIN: read it before a syscall that proves the socket drained
// (EAGAIN; a short read while ShortReadDrains), and after Want, while
// ReadEdges still returns that value, nothing has come since (an edge the
// kernel raises after the syscall is dispatched later, and counted before
// the poller reads want: it either changes ReadEdges or brings a Ready).
func (r *Registration) ReadEdges() uint32 { return r.readEdges.Load() }

// HungUp reports whether the poller has seen EPOLLRDHUP, EPOLLHUP or
// EPOLLERR on the fd (kqueue: EV_EOF or EV_ERROR); once set it stays set. A reader may stop at a short
// read (fewer bytes than asked: the socket is drained, and new data brings
// a new edge) only while HungUp is false: a hang-up edge comes once, so
// after one the reader must read on to EAGAIN or end of stream.
func (r *Registration) HungUp() bool { return r.hungUp.Load() }

// ShortReadDrains reports whether a stream read that returned fewer bytes
// than asked proves the socket drained, so that a reader may stop there
// (new data brings a new edge): false once the poller has seen a hang-up
// or an error (HungUp), or urgent data (EPOLLPRI: a TCP read stops short
// at the urgent mark with more of the stream queued, and no edge comes
// for it). A Unix stream read also stops after a message that carried
// file descriptors; the poller cannot see those, so a reader of a Unix
// socket whose peer may pass them reads on to EAGAIN.
func (r *Registration) ShortReadDrains() bool { return !r.hungUp.Load() && !r.urgent.Load() }

func (r *Registration) dispatch(ev *event) {
	if hangUp(ev) && !r.hungUp.Load() {
		r.hungUp.Store(true)
	}
	if urgentData(ev) && !r.urgent.Load() {
		r.urgent.Store(true)
	}
	if readable(ev) {
		r.readEdges.Add(1) // before notify reads want (ReadEdges)
		r.notify(Readable)
	}
	if writable(ev) {
		r.notify(Writable)
	}
}

func (r *Registration) notify(d Direction) {
	if r.want[d].Load() && r.pending[d].CompareAndSwap(false, true) {
		p := r.p
		p.delivered[d].Add(1)
		p.busy.Store(r)
		if in := r.inbox.Load(); in != nil {
			(*in).PostUserMessage(&r.msgs[d])
		} else {
			p.sender.Send(r.pid, &r.msgs[d])
		}
		p.busy.Store(nil)
	}
}
