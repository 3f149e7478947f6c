package poller

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/asynkron/protoactor-go/actor"
)

// This file is the portable side of receiving through the poller (the
// io_uring backend's multishot receive, uring_recv_linux.go): a
// registration made with RegisterRecv on a backend that can receive gets
// its socket's bytes in a queue instead of readiness for input, and its
// owner takes them with NextRecv. On any other backend RegisterRecv is
// Register, and Receives reports false.

// RecvBufSize is the size of the buffers a poller receives into: at most
// that many bytes come in one NextRecv. An owner that must read fewer at a
// time (a smaller read size) registers with Register instead.
const RecvBufSize = 4096

// ErrRecvStopped is what NextRecv returns when the backend's receive has
// ended (it took its limit, no buffer left in the ring, the owner held
// more than its limit in buffers, the kernel ended it): the owner reads
// the socket itself until EAGAIN, then calls ArmRecv. No byte is lost:
// what the receive did not take is still in the socket.
var ErrRecvStopped = errors.New("poller: receive stopped: read the socket, then ArmRecv")

// recvBackend is a backend that receives for a registration itself.
type recvBackend interface {
	AddRecv(fd int, ev Events, token uint64, limit uint32) (bool, error)
	ArmRecv(fd int, limit uint32) error
	ReleaseBuf(bid uint16)
	buffersOut() int
	setRecvSink(sink recvSink)
}

// recvSink is where a receiving backend hands what it received: the
// poller, which queues it for the registration of token. Both methods
// report the room the registration has left under its limit, in buffers,
// and false if the token has none.
type recvSink interface {
	pushRecv(token uint64, e rxEntry) (room int, ok bool)
	recvRoom(token uint64) (room int, ok bool)
}

// MaxRecvBuffers caps the receive buffers one registration may hold
// (RegisterRecv's limit): 128 KiB of a poller's ring of 2,048, whatever
// the owner's credit.
const MaxRecvBuffers = 32

// recvBytes is the byte limit a receive is armed with for room buffers.
func recvBytes(room int) uint32 { return uint32(min(max(room, 1), MaxRecvBuffers) * RecvBufSize) }

// rxEntry is one receive completion: res bytes in data (a buffer of the
// backend's, bid, when hasBuf), 0 at end of stream, a negative errno; end
// says the receive ended with it.
type rxEntry struct {
	data   []byte
	res    int32
	bid    uint16
	hasBuf bool
	end    bool
}

// rxQueue is a registration's receive completions, pushed by the poller's
// loop and taken by the owner (any goroutine: a mutex), and the backend
// that receives. stopped says the owner met the receive's end and reads
// the socket itself until ArmRecv; closed, that the registration is gone
// (pushes are refused, so their buffers go back to the ring).
type rxQueue struct {
	rb recvBackend // the backend that receives
	// limit is how many buffers the registration may hold (RegisterRecv),
	// out how many it holds: filled for it and not released, queued or
	// with the owner.
	limit   int
	out     atomic.Int64
	mu      sync.Mutex
	q       []rxEntry
	head    int
	stopped bool
	closed  bool
}

// RecvEnv, set to 0, turns off the io_uring backend's receive (phase 2)
// for the pollers started afterwards: io_uring then serves readiness
// alone, as epoll does. It is on otherwise, where the kernel bounds a
// multishot receive by a byte count (Linux 6.17; see
// uring_recv_linux.go): on an older kernel io_uring serves readiness
// alone too.
const RecvEnv = "ACTORNET_URING_RECV"

// recvEnabled reports whether RecvEnv leaves the receive on.
func recvEnabled() bool { return os.Getenv(RecvEnv) != "0" }

// RegisterRecv is Register for a socket whose bytes the poller receives
// itself where its backend can (io_uring: a multishot receive into a
// provided buffer ring): its owner then gets Ready(Readable) when bytes
// are queued and takes them with NextRecv (Receives reports true). On
// other backends it is Register.
//
// limit bounds the buffers of RecvBufSize bytes the registration holds
// (queued, and taken but not released) while the owner does not ask for
// more: each receive is armed with the bytes of the buffers the owner
// does not hold, and ends once it took them (the last completion may
// spill up to a buffer beyond), whatever the peer sends; the owner then
// reads the socket itself, when it wants more, before it arms the next
// (ErrRecvStopped). It is clamped to 1..MaxRecvBuffers; an owner with a
// read credit passes it. ArmRecv arms for one buffer at least.
func (p *Poller) RegisterRecv(fd int, pid *actor.PID, limit int, want ...Direction) (*Registration, error) {
	return p.register(fd, pid, min(max(limit, 1), MaxRecvBuffers), want)
}

// pushRecv queues a receive completion for the registration of token and
// returns the room left under its limit, in buffers (ok false if there is
// no registration to take it).
func (p *Poller) pushRecv(token uint64, e rxEntry) (room int, ok bool) {
	x := p.openRx(token)
	if x == nil {
		return 0, false
	}
	defer x.mu.Unlock()
	if e.hasBuf {
		x.out.Add(1)
	}
	x.q = append(x.q, e)
	return x.limit - int(x.out.Load()), true
}

// recvRoom returns the room the registration of token has left under its
// limit, in buffers, without queueing anything (ok false if there is no
// registration to take more).
func (p *Poller) recvRoom(token uint64) (room int, ok bool) {
	x := p.openRx(token)
	if x == nil {
		return 0, false
	}
	defer x.mu.Unlock()
	return x.limit - int(x.out.Load()), true
}

// openRx returns the receive queue of token's registration, locked, or
// nil when there is none or it is closed.
func (p *Poller) openRx(token uint64) *rxQueue {
	r := p.lookup(token)
	if r == nil || r.rx == nil {
		return nil
	}
	x := r.rx
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return nil
	}
	return x
}

// RecvBuffersOut returns how many of the poller's receive buffers the
// kernel filled and nobody has given back yet (queued for owners, lent to
// handlers, retained): 0 when every owner is done, whatever the traffic.
// It is 0 on a backend that does not receive.
func (p *Poller) RecvBuffersOut() int {
	if rb, ok := p.be.(recvBackend); ok {
		return rb.buffersOut()
	}
	return 0
}

// Receives reports whether the poller receives the socket's bytes for the
// registration (RegisterRecv on a backend that can).
func (r *Registration) Receives() bool { return r != nil && r.rx != nil }

// NextRecv takes the next bytes the poller received for the registration:
// data lies in a buffer of the poller's, id, which the owner gives back
// with ReleaseRecv once done with it. It returns (nil, 0, nil) at end of
// stream; syscall.EAGAIN when nothing is queued (a Ready comes when
// something is, while Readable is wanted); ErrRecvStopped when the
// owner must read the socket itself (see ErrRecvStopped); or the receive's
// error (a syscall.Errno). Only the owner calls it.
func (r *Registration) NextRecv() (data []byte, id uint16, err error) {
	x := r.rx
	x.mu.Lock()
	if x.head == len(x.q) {
		x.q, x.head = x.q[:0], 0
		stopped := x.stopped
		x.mu.Unlock()
		if stopped {
			return nil, 0, ErrRecvStopped
		}
		return nil, 0, syscall.EAGAIN
	}
	e := x.q[x.head]
	x.q[x.head] = rxEntry{}
	x.head++
	if e.end {
		x.stopped = true
	}
	x.mu.Unlock()
	switch {
	case e.res > 0:
		return e.data, e.bid, nil
	case e.res == 0:
		return nil, 0, nil
	}
	switch errno := syscall.Errno(-e.res); errno {
	case syscall.ENOBUFS, syscall.ECANCELED, syscall.EAGAIN, syscall.EINTR, syscall.ENOMEM, syscall.EBUSY:
		return nil, 0, ErrRecvStopped
	default:
		return nil, 0, errno
	}
}

// RecvQueued reports whether NextRecv has something to return now (bytes,
// the end of the stream, an error): false means it would say EAGAIN,
// and a Ready comes when something is queued. Only the owner calls it.
func (r *Registration) RecvQueued() bool {
	x := r.rx
	x.mu.Lock()
	queued := x.head < len(x.q) || x.stopped
	x.mu.Unlock()
	return queued
}

// ArmRecv starts the poller's receive again after NextRecv said
// ErrRecvStopped and the owner read the socket to EAGAIN.
func (r *Registration) ArmRecv() error {
	x := r.rx
	x.mu.Lock()
	if !x.stopped || x.head != len(x.q) {
		x.mu.Unlock()
		return nil
	}
	x.stopped = false
	x.mu.Unlock()
	if err := r.rx.rb.ArmRecv(r.fd, recvBytes(x.limit-int(x.out.Load()))); err != nil {
		x.mu.Lock()
		x.stopped = true
		x.mu.Unlock()
		return err
	}
	return nil
}

// ReleaseRecv gives back the buffer of bytes NextRecv returned. It is safe
// from any goroutine, also after Deregister and after the poller stopped.
func (r *Registration) ReleaseRecv(id uint16) {
	r.rx.out.Add(-1)
	r.rx.rb.ReleaseBuf(id)
}

// dropRecv refuses further completions and gives back the buffers of
// those queued: the registration is gone.
func (r *Registration) dropRecv() {
	x := r.rx
	if x == nil {
		return
	}
	x.mu.Lock()
	x.closed = true
	q := x.q[x.head:]
	x.q, x.head = nil, 0
	x.mu.Unlock()
	for _, e := range q {
		if e.hasBuf {
			r.ReleaseRecv(e.bid)
		}
	}
}
