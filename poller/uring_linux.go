package poller

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file is the io_uring backend: readiness through io_uring instead of
// epoll, behind the same backend interface and filling the same event
// (an epoll_event) so that the loop in poller.go runs on it unchanged.
//
//   - Add arms one multishot IORING_OP_POLL_ADD per fd
//     (IORING_POLL_ADD_MULTI, edge-triggered as epoll's EPOLLET: the kernel
//     adds EPOLLET unless IORING_POLL_ADD_LEVEL is given). Arming reports
//     the fd's state at once, as EPOLL_CTL_ADD does; after that each
//     wake-up of the socket posts one CQE whose res is the poll mask, in
//     the bits of epoll (mangle_poll is the identity on x86 and arm64).
//   - A CQE's mask is the wake-up's key, not the whole state as epoll
//     reports it (a datagram's arrival wakes with EPOLLIN alone): reap adds
//     EPOLLOUT to every event, a hint a writer may find false (Ready
//     messages are hints: a send that meets EAGAIN waits again).
//   - A CQE without IORING_CQE_F_MORE means the request ended (the CQ ring
//     was full, the kernel cancelled it): the backend arms it again at
//     once. Arming reports the state at that moment, and owners read to
//     EAGAIN before they wait, so no readiness is lost.
//   - Remove submits IORING_OP_ASYNC_CANCEL, not IORING_OP_POLL_REMOVE:
//     the latter gives up with EALREADY, leaving the request armed, when
//     a wake-up's task work for it is pending; a cancel marks the request
//     so that the task work ends it. CQEs of a removed request
//     (its -ECANCELED) are told apart by the user_data: fd and a sequence
//     number of the backend's own, checked against an fd-indexed table, so
//     none reaches a later registration of the same fd.
//   - Wake submits an IORING_OP_NOP, which completes inline and posts a
//     CQE that ends a waiting io_uring_enter: one system call, as the
//     eventfd write of epoll's wake-up, with no fd to poll. Its level is
//     kept in a flag, so that the wake token is reported on every Wait
//     until ResetWake, as epoll's eventfd stays readable until read
//     (Poller.drain relies on it when stopping).
//   - Wait is io_uring_enter with IORING_ENTER_GETEVENTS (and a timeout
//     through IORING_ENTER_EXT_ARG), submitting nothing: the kernel skips
//     the wait when it submits fewer SQEs than it was told to, so every
//     SQE is submitted by the call that queues it. With msec 0 Wait reads
//     the CQ ring without a system call.
//
// A poll request's wake-ups, and its end, run as task work on the thread
// that submitted it (woken if asleep; with IORING_SETUP_COOP_TASKRUN not
// interrupted while it runs user code: at its next system call), and a
// Remove waits for that thread (see Remove). So that the thread is the
// loop's, the loop arms the requests itself (uring_home_linux.go). A ring
// with one submitter thread (IORING_SETUP_SINGLE_ISSUER, DEFER_TASKRUN)
// would need the loop locked to its thread, which costs Go's scheduler
// more than it saves (see the README).
//
// Phase 1 is readiness: socket actors read and write with their own
// system calls. Phase 2 (uring_recv_linux.go) receives for registrations
// made with Poller.RegisterRecv (push-mode TCP connections): a multishot
// receive into a provided buffer ring, the bytes handed to the owner
// without a read(2). Phase 3 (uring_send_linux.go) sends for owners
// that run on the loop: their sends are submitted with the loop's next
// reap, one io_uring_enter for all of a turn's writes.

// The ring's sizes: the SQ ring holds registrations, removals and
// wake-ups on their way in (each submitted at once), the CQ ring the
// readiness of many fds between two Waits. A CQ ring that fills ends
// multishot requests (re-armed here), it loses nothing (IORING_FEAT_NODROP).
const (
	uringSQEntries = 256
	uringCQEntries = 4096
)

// The user_data of the backend's own requests, told apart from a poll's
// (fd | seq<<32) by bit 31, which no fd has: the wake-up's NOP, and a
// removal (the removed poll's user_data with the bit set).
const (
	udWake      = ^uint64(0)
	udSync      = ^uint64(0) - 1 // a NOP that Remove submits, read and dropped
	udProbe     = ^uint64(0) - 2 // probeRecvLimitLocked's receive
	udRemoveBit = 1 << 31
)

// removeWait is how long a Remove waits for a CQE at a time (the loop may
// read the one it waits for), and removeGiveUp how long in all.
var (
	removeWait   = newUringTimeout(time.Millisecond)
	removeGiveUp = time.Second
)

// uringPollEvents are the poll bits an Add passes on; the kernel adds
// EPOLLERR and EPOLLHUP itself, and EPOLLET unless told otherwise.
const uringPollEvents = unix.EPOLLIN | unix.EPOLLPRI | unix.EPOLLOUT | unix.EPOLLRDHUP

// URing is a readiness backend on io_uring: a multishot poll request per
// fd, and a NOP for wake-ups. Add, Remove and Wake are safe to call from
// any goroutine while one goroutine is in Wait (they take a mutex for the
// SQ ring; the kernel serialises submission); Close must come after Wait
// returns for the last time.
type URing struct {
	mu     sync.Mutex // the SQ and CQ rings, slots, seq, closed
	r      *ring
	slots  []uringSlot // by fd
	seq    uint32
	closed bool

	// woken is the wake-up's level: set by Wake, cleared by ResetWake.
	woken atomic.Bool
	// lastTimeout is the last wait's timeout argument (timeout).
	lastTimeout atomic.Pointer[uringTimeout]
	// nop says a wake-up NOP's CQE has not been read yet: until it is,
	// Wake submits no other (a waiting Wait returns on that one).
	nop atomic.Bool
	// rearms counts poll requests armed again after they ended; rehomes,
	// the loop's moves to another thread (see home).
	rearms, rehomes atomic.Uint64
	// gaveUp counts the Removes that stopped waiting for a request's end
	// (removeGiveUp).
	gaveUp atomic.Uint64
	// removing holds the user_data of removed poll requests whose last
	// CQE has not been read yet (see Remove).
	removing map[uint64]struct{}
	// cqBacklog holds the CQEs moved out of the CQ ring, read by reap
	// from cqNext on (uring_cq_linux.go).
	cqBacklog []ioUringCQE
	cqNext    int
	// sendBacklog holds the sends' CQEs, read from sendNext on ahead of
	// the rest (reapSendsLocked).
	sendBacklog []ioUringCQE
	sendNext    int

	// pb is the provided buffer ring of the receive path
	// (uring_recv_linux.go), made at the first AddRecv; pbShared is the
	// same for ReleaseBuf, which takes no lock; pbRefused says the
	// kernel refused one. sink takes receive completions (the poller).
	pb        *bufRing
	pbShared  atomic.Pointer[bufRing]
	pbRefused bool
	sink      recvSink

	// The send path (uring_send_linux.go): sendSink takes completions,
	// sendOrphans keeps the bytes of removed registrations' sends alive
	// until their CQEs, sends counts the sends queued.
	sendSink    func(token uint64, res int32)
	sendOrphans map[uint64][]byte
	sends       atomic.Uint64

	// loopTid is the thread the loop last blocked on (0 before its
	// first blocking Wait); pending, the fds whose requests wait for the
	// loop to arm them (see home).
	loopTid atomic.Int32
	pending []int
	// blocked counts the loops waiting in io_uring_enter (block,
	// unblock).
	blocked int

	// park is the ring's parked wait (uring_park_linux.go); oneP, what
	// updateParks found.
	park *parker
	oneP atomic.Bool
}

// uringSlot is the registration of one fd.
type uringSlot struct {
	token  uint64
	events uint32
	seq    uint32
	live   bool
	// recv: the backend receives the fd's bytes (AddRecv); recvArmed: its
	// multishot receive has not ended; recvStopping: the backend has
	// cancelled it (its owner holds more than its limit of buffers, or
	// the loop moved to another thread). recvLimit is the byte limit it
	// is (or will be) armed with.
	recv, recvArmed, recvStopping bool
	recvLimit                     uint32
	// armPoll, armRecv: the request waits for the loop to arm it.
	armPoll, armRecv bool
	// sendArmed: a send is queued or in flight, its bytes sendBuf.
	sendArmed bool
	sendBuf   []byte
}

var _ backend = (*URing)(nil)

// NewURing sets up an io_uring for readiness. It fails with an error
// wrapping the kernel's refusal (ENOSYS: no io_uring; EPERM: the
// io_uring_disabled sysctl or a seccomp filter) or errURingTooOld where
// multishot poll is missing.
func NewURing() (*URing, error) {
	r, err := newRing(uringSQEntries, uringCQEntries)
	if err != nil {
		return nil, err
	}
	return uringOn(r)
}

// uringOn makes the backend on r, which it closes on error.
func uringOn(r *ring) (*URing, error) {
	u := &URing{r: r}
	var err error
	if u.park, err = u.newParker(); err != nil {
		r.close()
		return nil, err
	}
	u.updateParks()
	return u, nil
}

// userData is the user_data of fd's poll request.
func userData(fd int, seq uint32) uint64 { return uint64(uint32(fd)) | uint64(seq)<<32 }

// Add arms a multishot poll for fd with the given token. Like
// epoll_ctl(EPOLL_CTL_ADD) it fails at once on a bad fd (an fcntl checks
// it: io_uring would say so only in a CQE) and on an fd already added.
func (u *URing) Add(fd int, ev Events, token uint64) error {
	_, err := u.add(fd, ev, token, 0)
	return err
}

// add is Add, and AddRecv with a receive's byte limit (0: none).
func (u *URing) add(fd int, ev Events, token uint64, recvLimit uint32) (bool, error) {
	if fd < 0 {
		return false, os.NewSyscallError("io_uring poll add", unix.EBADF)
	}
	// Raw, as epollCtl: fcntl(F_GETFD) never waits, and the runtime's
	// entersyscall would wake its monitor where it sleeps (an idle
	// program), which then ticks every 20 µs for a millisecond or more:
	// 11% of a server's time at one TLS handshake at a time.
	if _, _, e := unix.RawSyscall(unix.SYS_FCNTL, uintptr(fd), unix.F_GETFD, 0); e != 0 {
		return false, os.NewSyscallError("io_uring poll add", e)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return false, os.NewSyscallError("io_uring poll add", unix.EBADF)
	}
	if fd >= len(u.slots) {
		n := max(64, 2*len(u.slots))
		for n <= fd {
			n *= 2
		}
		slots := make([]uringSlot, n)
		copy(slots, u.slots)
		u.slots = slots
	}
	s := &u.slots[fd]
	if s.live {
		return false, os.NewSyscallError("io_uring poll add", unix.EEXIST)
	}
	u.seq++
	*s = uringSlot{token: token, events: ev & uringPollEvents, seq: u.seq, live: true}
	if recvLimit > 0 && u.bufRingLocked() != nil {
		// The receive reports input: the poll watches the rest (the
		// kernel adds EPOLLERR and EPOLLHUP).
		s.recv, s.recvLimit = true, recvLimit
		s.events &^= unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLPRI
	}
	if !u.homeLocked() {
		// Armed by the loop (see home): its thread runs the requests'
		// wake-ups.
		s.armPoll, s.armRecv = true, s.recv
		u.pending = append(u.pending, fd)
		if err := u.kickLocked("io_uring poll add"); err != nil {
			s.live, s.armPoll, s.armRecv = false, false, false
			return false, err
		}
		return s.recv, nil
	}
	if s.recv {
		if err := u.recvArmLocked(fd, s); err != nil {
			s.live, s.recvArmed = false, false
			return false, err
		}
	}
	if err := u.pollAddLocked(fd, s); err != nil {
		s.live = false
		return false, err
	}
	if err := u.submitLocked("io_uring poll add"); err != nil {
		s.live = false
		return false, err
	}
	return s.recv, nil
}

// pollAddLocked queues fd's multishot poll request.
func (u *URing) pollAddLocked(fd int, s *uringSlot) error {
	sqe, err := u.sqeLocked("io_uring poll add")
	if err != nil {
		return err
	}
	sqe.Opcode = ioringOpPollAdd
	sqe.Fd = int32(fd)
	sqe.Len = ioringPollAddMulti
	sqe.OpFlags = s.events
	sqe.UserData = userData(fd, s.seq)
	return nil
}

// sqeLocked returns a free SQE, submitting what is queued to make room if
// the SQ ring is full.
func (u *URing) sqeLocked(op string) (*ioUringSQE, error) {
	if sqe := u.r.getSQE(); sqe != nil {
		return sqe, nil
	}
	if err := u.submitLocked(op); err != nil {
		return nil, err
	}
	if sqe := u.r.getSQE(); sqe != nil {
		return sqe, nil
	}
	return nil, os.NewSyscallError(op, unix.EBUSY)
}

// submitLocked submits the queued SQEs. EBUSY and EAGAIN (the kernel's CQ
// backlog is full, or it is short of memory) leave them queued: the next
// Wait submits them, and it has CQEs to read meanwhile.
func (u *URing) submitLocked(op string) error {
	for {
		n := u.r.flushSQ()
		if n == 0 {
			return nil
		}
		_, err := u.r.enter(n, 0, 0, nil)
		switch err {
		case nil, unix.EBUSY, unix.EAGAIN:
			return nil
		case unix.EINTR:
			continue
		}
		return os.NewSyscallError(op, err)
	}
}

// Remove cancels fd's poll request (IORING_OP_ASYNC_CANCEL) and waits
// until the request has ended. It fails with ENOENT, as EPOLL_CTL_DEL, for
// an fd not added.
//
// The wait is what makes close(2) after Remove close the socket, as it
// does after EPOLL_CTL_DEL: an io_uring request holds a reference to its
// file until it ends, and a cancelled poll ends in task work run by the
// thread that submitted it (at once if that is this thread; otherwise
// that thread is interrupted for it). Without the wait a listener closed
// and opened again on its address met EADDRINUSE, and a peer saw its FIN
// late. Remove does not hand CQEs to owners (the loop does): it looks for
// the request's last one in the CQ ring (moving the ring's CQEs to the
// backlog first where the loop is not blocked: drainForRemoveLocked), and
// waits in io_uring_enter for new ones, a millisecond at a time, a second
// at most.
func (u *URing) Remove(fd int) error {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return os.NewSyscallError("io_uring poll remove", unix.EBADF)
	}
	if fd < 0 || fd >= len(u.slots) || !u.slots[fd].live {
		u.mu.Unlock()
		return os.NewSyscallError("io_uring poll remove", unix.ENOENT)
	}
	s := &u.slots[fd]
	s.live = false
	ud, rd, sd := userData(fd, s.seq), uint64(0), u.removeSendLocked(fd, s)
	if s.recvArmed {
		rd = recvData(fd, s.seq)
	}
	if u.removing == nil {
		u.removing = make(map[uint64]struct{})
	}
	for _, d := range [3]uint64{ud, rd, sd} {
		if d == 0 {
			continue
		}
		sqe, err := u.sqeLocked("io_uring poll remove")
		if err != nil {
			u.mu.Unlock()
			return err
		}
		sqe.Opcode = ioringOpAsyncCancel
		sqe.Fd = -1
		sqe.Addr = d
		sqe.UserData = d | udRemoveBit
		u.removing[d] = struct{}{}
	}
	if err := u.submitLocked("io_uring poll remove"); err != nil {
		delete(u.removing, ud)
		delete(u.removing, rd)
		delete(u.removing, sd)
		u.mu.Unlock()
		return err
	}
	u.mu.Unlock()
	u.awaitEnd(ud, rd, sd)
	return nil
}

// awaitEnd waits until the poll request ud, and the receive rd and the
// send sd if not 0, have ended: each one's last CQE (or its removal's ENOENT: it had ended
// already) is in the CQ ring or was read. Then it submits a NOP: the task
// work that ended a request posted the CQE and put the file under the
// ring's uring_lock, which a submission takes, so once the NOP is in, the
// file is put.
func (u *URing) awaitEnd(ud, rd, sd uint64) {
	deadline := time.Now().Add(removeGiveUp)
	for {
		u.mu.Lock()
		if !u.closed {
			u.drainForRemoveLocked()
		}
		if u.closed || u.endDoneLocked(ud) && (rd == 0 || u.endDoneLocked(rd)) && (sd == 0 || u.endDoneLocked(sd)) {
			u.syncLocked()
			u.mu.Unlock()
			return
		}
		if time.Now().After(deadline) {
			u.gaveUp.Add(1)
			delete(u.removing, ud)
			delete(u.removing, rd)
			delete(u.removing, sd)
			u.syncLocked()
			u.mu.Unlock()
			return
		}
		r := u.r
		queued := atomic.LoadUint32(r.cqTail) - atomic.LoadUint32(r.cqHead)
		u.mu.Unlock()
		// Wait for one CQE more than the ring holds (or the timeout).
		_, _ = r.enter(0, queued+1, ioringEnterGetEvents|ioringEnterExtArg, &removeWait.arg)
	}
}

// syncLocked submits awaitEnd's last NOP. Its CQE also wakes a loop
// parked in the netpoller for the CQEs awaitEnd moved to the backlog
// (drainForRemoveLocked), which is why a Remove that gives up submits it
// too.
func (u *URing) syncLocked() {
	if u.closed {
		return
	}
	if sqe, err := u.sqeLocked("io_uring poll remove"); err == nil {
		sqe.Opcode = ioringOpNop
		sqe.UserData = udSync
		_ = u.submitLocked("io_uring poll remove")
	}
}

// endDoneLocked reports whether request ud has ended: its last CQE was
// read, or is in the CQ ring.
func (u *URing) endDoneLocked(ud uint64) bool {
	_, waiting := u.removing[ud]
	return !waiting || u.endedLocked(ud)
}

// endedLocked looks in the CQ ring, without reading it, for the last CQE
// of the poll request ud or its removal's ENOENT.
func (u *URing) endedLocked(ud uint64) bool {
	r := u.r
	tail := atomic.LoadUint32(r.cqTail)
	for head := atomic.LoadUint32(r.cqHead); head != tail; head++ {
		c := &r.cqes[head&r.cqMask]
		if c.UserData == ud && c.Flags&ioringCQEFMore == 0 ||
			c.UserData == ud|udRemoveBit && c.Res == -int32(unix.ENOENT) {
			return true
		}
	}
	return false
}

// Wait waits up to msec milliseconds (-1: forever, 0: not at all) and fills
// events from the CQ ring. EINTR is reported as zero events.
func (u *URing) Wait(events []event, msec int) (int, error) {
	return u.wait(events, msec, false)
}

// WaitHandoff is Wait for a wait that blocks, made after giving up the
// goroutine's P (handoff_linux.go).
func (u *URing) WaitHandoff(events []event, msec int) (int, error) {
	return u.wait(events, msec, msec != 0)
}

func (u *URing) wait(events []event, msec int, release bool) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	n, busy, err := u.reap(events)
	if err != nil || n > 0 || (msec == 0 && !busy) {
		return n, err
	}
	var flags, minComplete uint32 = ioringEnterGetEvents, 1
	var arg *uringTimeout
	switch {
	case msec == 0:
		minComplete = 0 // flush the overflow backlog or submit, no wait
	case msec > 0:
		arg = u.timeout(msec)
		flags |= ioringEnterExtArg
	}
	var argp *ioUringGeteventsArg
	if arg != nil {
		argp = &arg.arg
	}
	if msec != 0 {
		u.home()
		if !u.block() {
			n, _, err = u.reap(events) // a Remove drained the ring meanwhile
			return n, err
		}
	}
	// Nothing to submit here (reap did): io_uring_enter waits for CQEs
	// only if it submitted all it was asked to.
	if release {
		// Locked to its thread, the loop comes back from the wait on the
		// thread it blocked on even when its P went to another goroutine
		// meanwhile (exitsyscall then waits for a P rather than letting
		// another thread run the loop): a move would re-arm every request
		// (home), and without the lock a loop that gave its P to a busy
		// goroutine moved at every other wait.
		runtime.LockOSThread()
		_, err = u.r.enterHandoff(minComplete, flags, argp)
		runtime.UnlockOSThread()
	} else {
		_, err = u.r.enter(0, minComplete, flags, argp)
	}
	runtime.KeepAlive(arg)
	if msec != 0 {
		u.unblock()
	}
	switch err {
	case nil, unix.EINTR, unix.ETIME, unix.EBUSY, unix.EAGAIN:
	default:
		return 0, os.NewSyscallError("io_uring_enter", err)
	}
	n, _, err = u.reap(events)
	return n, err
}

// block marks the loop as about to block in io_uring_enter, so that a
// Remove leaves the ring's CQEs where they are (drainForRemoveLocked)
// until unblock: the loop's wait would not end for CQEs already posted
// when it began, so any moved to the backlog between its last reap and
// its enter would wait there, unread, for the next one posted. It
// reports false, marking nothing, where the backlog holds CQEs already (a
// Remove moved them since the reap): the loop reads them first. It
// counts: a loop the stall watchdog replaced (Handoff) may wait beside
// its successor.
func (u *URing) block() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.cqNext < len(u.cqBacklog) || u.sendNext < len(u.sendBacklog) {
		return false
	}
	u.blocked++
	return true
}

// unblock ends what block began: the loop is back from its wait.
func (u *URing) unblock() {
	u.mu.Lock()
	u.blocked--
	u.mu.Unlock()
}

// reap reads CQEs into events, through the backlog (uring_cq_linux.go),
// which takes the whole CQ ring at each reap: readiness by token, re-arming requests that
// ended, skipping the backend's own and those of removed requests; then
// the wake token if the wake-up is raised; then it submits what is
// queued. busy says the kernel holds work a Wait must enter for: SQEs it
// did not take, CQEs in its overflow backlog.
func (u *URing) reap(events []event) (n int, busy bool, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return 0, false, os.NewSyscallError("io_uring_enter", unix.EBADF)
	}
	r := u.r
	rearm := false
	u.armPendingLocked()
	// Submitted before the CQ ring is read: an fd's state at arming, and
	// the sends queued since the last reap (which complete in this enter),
	// come in this reap.
	if err := u.submitQueuedLocked(); err != nil {
		return 0, false, err
	}
	u.drainCQLocked()
	// The sends' completions first, but in half the events at most, so
	// that a stream of sends (each completion's owner queues the next)
	// cannot keep the rest waiting; what is left of the events after the
	// rest takes more of them.
	n = u.reapSendsLocked(events[:(len(events)+1)/2], n)
	next := u.cqNext
	for ; next < len(u.cqBacklog) && n < len(events); next++ {
		c := &u.cqBacklog[next]
		if c.UserData == udWake {
			u.nop.Store(false)
			continue
		}
		if c.UserData == udSync {
			continue
		}
		if c.UserData == udProbe {
			if c.Flags&ioringCQEFBuffer != 0 && u.pb != nil {
				u.pb.put(uint16(c.Flags >> ioringCQEBufferShift))
			}
			continue
		}
		if c.UserData&udRemoveBit != 0 {
			if c.Res == -int32(unix.ENOENT) { // the request had ended
				delete(u.removing, c.UserData&^udRemoveBit)
			}
			continue
		}
		if c.Flags&ioringCQEFMore == 0 && u.removing != nil {
			delete(u.removing, c.UserData)
		}
		if c.UserData&udRecvBit != 0 {
			filled, queued := u.reapRecv(c, &events[n])
			if filled {
				n++
			}
			rearm = rearm || queued
			continue
		}
		fd, seq := int(uint32(c.UserData)), uint32(c.UserData>>32)
		if fd >= len(u.slots) || !u.slots[fd].live || u.slots[fd].seq != seq {
			continue // a removed request's last CQEs
		}
		s := &u.slots[fd]
		var mask uint32
		if c.Res > 0 {
			// The mask is the wake-up's key (a datagram's arrival wakes
			// with EPOLLIN alone), where epoll reports the whole state
			// (EPOLLOUT too while there is send space): a writable flag
			// rides along, as epoll's would, so that a writer waiting on
			// a send that met EAGAIN tries again. It may find no space:
			// then it waits again (a Ready is a hint).
			// EPOLLPRI goes: a socket's data wakes its waiters with
			// EPOLLIN|EPOLLPRI as the key (sock_def_readable), urgent
			// data or not, so the key cannot tell urgent data; epoll
			// reports the socket's state instead (urgentData).
			mask = uint32(c.Res)&^unix.EPOLLPRI | unix.EPOLLOUT
		}
		if c.Flags&ioringCQEFMore == 0 {
			if !rearmable(c.Res) {
				// The poll failed for good (the fd is gone?): the owner
				// learns what from its own system call.
				mask = unix.EPOLLERR | unix.EPOLLHUP
			} else if err := u.pollAddLocked(fd, s); err == nil {
				rearm = true
				u.rearms.Add(1)
			}
		}
		if mask != 0 {
			events[n] = toEpollEvent(mask, s.token)
			n++
		}
	}
	consumed(&u.cqBacklog, &u.cqNext, next)
	// After the NOP's CQE was read (which lets Wake submit another), so
	// that a Wake whose NOP was not needed is still seen here.
	if u.woken.Load() && n < len(events) {
		events[n] = toEpollEvent(unix.EPOLLIN, wakeToken)
		n++
	}
	n = u.reapSendsLocked(events, n)
	// Re-arms, and what an EBUSY or EAGAIN left queued.
	if rearm || r.flushSQ() > 0 {
		if err := u.submitLocked("io_uring poll add"); err != nil {
			return n, false, err
		}
	}
	busy = r.flushSQ() > 0 || r.cqOverflowed()
	return n, busy, nil
}

// rearmable reports whether a poll request that ended with res is armed
// again: it ended with a mask (the CQ ring was full), was cancelled by
// the kernel (the thread that submitted it exited: the backend's own
// removals are not live any more) or met a shortage.
func rearmable(res int32) bool {
	if res >= 0 {
		return true
	}
	switch unix.Errno(-res) {
	case unix.ECANCELED, unix.ENOMEM, unix.EAGAIN, unix.EBUSY:
		return true
	}
	return false
}

// Wake raises the wake-up: a Wait in progress returns, and every Wait
// reports the wake token until ResetWake.
func (u *URing) Wake() error {
	u.woken.Store(true)
	if !u.nop.CompareAndSwap(false, true) {
		return nil // a NOP is on its way: the Wait that reads it sees woken
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return os.NewSyscallError("io_uring wake", unix.EBADF)
	}
	sqe, err := u.sqeLocked("io_uring wake")
	if err != nil {
		u.nop.Store(false)
		return err
	}
	sqe.Opcode = ioringOpNop
	sqe.UserData = udWake
	if err := u.submitLocked("io_uring wake"); err != nil {
		u.nop.Store(false)
		return err
	}
	return nil
}

// ResetWake lowers the wake-up after it was seen.
func (u *URing) ResetWake() { u.woken.Store(false) }

// Close closes the ring: the kernel cancels every poll request.
func (u *URing) Close() error {
	// The parker first, without the lock: closing its fd ends a parked
	// wait still in progress (against Close's contract) and waits for
	// it, where its poll would wait for the lock.
	perr := u.park.close()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return nil
	}
	u.closed = true
	err := u.r.close()
	if u.pb != nil {
		u.pb.close()
	}
	if err == nil {
		err = perr
	}
	return err
}

// uringTimeout is an io_uring_getevents_arg and the timespec it points
// to, in one heap object (the kernel reads the timespec through an
// integer, which keeps nothing alive and must not point into a stack
// that may move).
type uringTimeout struct {
	arg  ioUringGeteventsArg
	ts   unix.Timespec
	msec int // for URing.timeout's reuse
}

// timeout returns a wait's argument for msec milliseconds: the last one
// made when it is for as long (the loop's held waits are all as long:
// boundedHold),
// so that those allocate nothing. The kernel only reads it.
func (u *URing) timeout(msec int) *uringTimeout {
	if t := u.lastTimeout.Load(); t != nil && t.msec == msec {
		return t
	}
	t := newUringTimeout(time.Duration(msec) * time.Millisecond)
	t.msec = msec
	u.lastTimeout.Store(t)
	return t
}

func newUringTimeout(d time.Duration) *uringTimeout {
	t := &uringTimeout{ts: unix.NsecToTimespec(d.Nanoseconds())}
	t.arg.Ts = uint64(uintptr(unsafe.Pointer(&t.ts)))
	return t
}
