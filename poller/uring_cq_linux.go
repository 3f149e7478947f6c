package poller

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// This file keeps the io_uring CQ ring from filling: every reap moves all
// the CQEs the ring holds into a backlog of the backend's own, and hands
// the loop as many as its events slice takes from there.
//
// The loop takes at most len(events) (128) events a turn; before the
// backlog it left the rest in the CQ ring. At 9,000 echo connections the
// kernel posts a receive's and a send's CQE per round trip, thousands per
// turn, and the ring of 4,096 overflowed: measured (perf record -e
// io_uring:io_uring_cqe_overflow, pinned, 9,000 x 64 B) more CQEs went to
// the kernel's overflow list (a kmalloc each) than to the ring. An
// overflowing CQE also ends its multishot request (poll, receive), so
// the receive's owner read its socket with read(2) and armed it again,
// and a Remove called on the loop waited for a CQE that only the loop
// could bring into the full ring: a second each (removeGiveUp), with the
// loop stuck; 9,000 connections took minutes to close.
//
// The backlog grows only with CQEs the kernel has posted, as its overflow
// list would (each request bounds its own: one per poll wake-up, the
// receive's limit of buffers, one per send). It is two queues, each read
// in order: the sends' completions (reapSendsLocked) and the rest. A
// request's CQEs are all in one of them, so they come in the order
// posted, its last one after its others, as from the ring; and each turn
// reads from both while both hold some, so every CQE is read within a
// bounded number of turns.

// drainCQLocked moves every CQE of the CQ ring into the backlog and
// notes the removed requests whose last CQE it saw (endDoneLocked asks
// about those).
func (u *URing) drainCQLocked() {
	r := u.r
	head := atomic.LoadUint32(r.cqHead) // written by us alone
	tail := atomic.LoadUint32(r.cqTail)
	for ; head != tail; head++ {
		c := r.cqes[head&r.cqMask]
		if c.UserData < udProbe && c.UserData&(udSendBit|udRemoveBit) == udSendBit {
			u.sendBacklog = append(u.sendBacklog, c)
		} else {
			u.cqBacklog = append(u.cqBacklog, c)
		}
		if u.removing == nil || c.UserData >= udProbe {
			continue
		}
		switch {
		case c.UserData&udRemoveBit != 0:
			if c.Res == -int32(unix.ENOENT) { // the request had ended
				delete(u.removing, c.UserData&^udRemoveBit)
			}
		case c.Flags&ioringCQEFMore == 0:
			delete(u.removing, c.UserData)
		}
	}
	atomic.StoreUint32(r.cqHead, head)
}

// reapSendsLocked reads the sends' completions into events from n on,
// and returns the new n. Reap calls it before it reads the other CQEs,
// with half the events, and after them, with what they left.
//
// A send's bytes are a stage of its owner's (tcp/conn_sends.go), pooled,
// held until the owner takes the send's result. Read in order, a
// completion waited behind every CQE posted before it: at 9,000 echo
// connections, thousands of receives, whose handlers each staged the
// next send meanwhile. So each connection held a stage, 9,000 of them
// (36 MiB of 4 KiB stages), cycled cold through the pool, and the copies
// into them and out of them (memmove, the kernel's _copy_from_iter) took
// 14% of the server against 5% (perf record, pinned, 9,000 x 4 KiB). A
// run fell into that state or not, and stayed: 45-64k round trips in 3 s
// against 68-88k (test/bench, io_uring, pinned). Read first, a send's
// completion comes in the turn after the one that queued it (while
// fewer sends wait than half a turn's events), so about a turn's worth
// of stages is out at once, and they stay warm.
//
// A send's is its request's one CQE, and ordering across requests is
// not promised (epoll reports a socket's directions together, in no
// order either), so reading them first breaks no guarantee of the
// backlog's.
func (u *URing) reapSendsLocked(events []event, n int) int {
	next := u.sendNext
	for ; next < len(u.sendBacklog) && n < len(events); next++ {
		if u.reapSend(&u.sendBacklog[next], &events[n]) {
			n++
		}
	}
	consumed(&u.sendBacklog, &u.sendNext, next)
	return n
}

// cqBacklogKeep is the backlog's capacity kept once it is empty: what a
// burst beyond it took is given back to the collector.
const cqBacklogKeep = 4096

// consumed notes that a backlog b was read up to index next (*at says
// where reading goes on). The read part is cut off once it is half the
// backlog, so the copy costs less than one CQE's move per CQE read.
func consumed(b *[]ioUringCQE, at *int, next int) {
	switch {
	case next == len(*b) && cap(*b) > cqBacklogKeep:
		*b, *at = nil, 0
	case next == len(*b):
		*b, *at = (*b)[:0], 0
	case next > len(*b)/2:
		*b, *at = (*b)[:copy(*b, (*b)[next:])], 0
	default:
		*at = next
	}
}

// drainForRemoveLocked is drainCQLocked for awaitEnd, where it is safe:
// whenever no loop is blocked, or about to block, in io_uring_enter
// (block): a loop that is not reads the backlog before it blocks next,
// and a loop parked in the netpoller (uring_park_linux.go) is woken by
// the NOP that every awaitEnd submits last (the CQEs moved out of the
// ring made the ring's fd readable, but the runtime's epoll_wait polls
// the fd again before it reports it, and finds the ring empty). A
// Remove then sees its request's end even when the ring was full, which
// only the loop could have emptied: one called by an owner on the loop,
// or by another goroutine while the loop runs.
//
// It asked for the loop's thread before, as the sign that the loop was
// not blocked; but the loop's goroutine is not always on the thread it
// last blocked on (Go moves it when a system call returns on another
// thread), and a Remove it made then left the full ring alone and
// waited, up to removeGiveUp, for a CQE that the full ring had sent to
// the kernel's overflow list. Measured (test/bench, io_uring, pinned,
// 9,000 connections x 4 KiB, when the clients close): Removes of a
// second, 31 in one run, each holding every connection of the poller,
// while the backlog held 55,000 CQEs; the stall watchdog took the
// connections being closed for blocking handlers.
func (u *URing) drainForRemoveLocked() {
	if u.blocked == 0 {
		u.drainCQLocked()
	}
}
