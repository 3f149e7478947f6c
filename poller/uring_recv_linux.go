package poller

import (
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file is the io_uring backend's receive path (phase 2): for a
// registration made with Poller.RegisterRecv the backend arms one
// multishot IORING_OP_RECV (IORING_RECV_MULTISHOT, IOSQE_BUFFER_SELECT)
// on a provided buffer ring (IORING_REGISTER_PBUF_RING), and its poll
// request watches EPOLLOUT alone. Each completion carries bytes the
// kernel put in one of the ring's buffers: reap hands it to the
// registration's queue (Poller.pushRecv) and reports the fd readable, and
// the owner takes the bytes with Registration.NextRecv instead of calling
// read(2). The buffer goes back to the ring with Registration.ReleaseRecv
// once the owner is done with it.
//
//   - Each receive is armed with a byte limit (sqe->optlen with
//     IORING_RECV_MULTISHOT: IORING_RECV_MSHOT_LIM in the kernel's
//     io_uring/net.c, Linux 6.17): the room its registration has under
//     its limit of buffers (RegisterRecv), RecvBufSize bytes a buffer.
//     The kernel counts each completion's bytes off it and ends the
//     receive (a CQE with bytes, without IORING_CQE_F_MORE) once it is
//     used up, within the task work that fills the buffers: so a paused
//     or slow owner holds at most its limit (the last completion may take
//     up to a buffer's worth beyond it: the kernel clamps bundles to the
//     limit, not single buffers), however fast its peer sends and however
//     late the loop reaps. A cancel, which is all there was before the
//     limit, lands only after the loop has read the CQEs: in CI a fast
//     peer filled the whole ring (8 MiB) for one connection before it
//     did. A kernel without the limit refuses it (an optlen beside a
//     receive was EINVAL before): probeRecvLimitLocked tries it once per
//     ring, and without it registrations get readiness alone, as on
//     epoll.
//   - The limit counts bytes, and a buffer holds a completion however
//     small: a peer sending tiny segments to a paused owner could fill
//     more buffers than the limit before the bytes add up. So reap also
//     cancels a receive whose registration holds more than its limit in
//     buffers while it runs (the rest waits in the socket, under TCP's flow
//     control): the byte bound is exact, the buffer bound as good as a
//     cancel that lands after the loop reads.
//   - A multishot receive ends (a CQE without IORING_CQE_F_MORE) at its
//     limit, at end of stream (res 0), on an error, when the ring has no
//     buffer (ENOBUFS: the bytes stay in the socket), or on that cancel.
//     (A cancel of the backend's own, when the loop moved thread, ends it
//     too, but reap arms it again at once: rearmRecvLocked.) Its end is
//     queued like data; when the owner reaches it NextRecv says ErrRecvStopped:
//     the owner reads with read(2) until EAGAIN, then calls ArmRecv,
//     which arms a new receive with the room left (the kernel tries the
//     socket at once when arming, so nothing that arrived in between is
//     missed). A receive that ends at its limit while its owner has room
//     left is armed again by reap instead, with that room, and its owner
//     sees no end (uring_recv_rearm_linux.go): only an owner that is full
//     meets it, and reads in its own larger reads from there on, until
//     the socket runs dry.
//   - Remove cancels the receive as it cancels the poll, and waits for the
//     ends of both before the fd may be closed. The buffers of CQEs that
//     arrive for a removed registration go back to the ring in reap.
//
// Memory: the buffers (uringBufCount × uringBufSize, 8 MiB per poller,
// made at its first RegisterRecv) are an anonymous mapping, not Go heap:
// a make of 8 MiB while the collector runs made the goroutine assist it in
// proportion, and a first connection waited 25-50 ms for its registration
// (an echo test's 100 ms window saw no round trip). Pages are touched, so
// resident, as the kernel fills them. The mapping outlives the poller
// while buffers are out (a handler may hold one): the last one back
// unmaps it. The ring of their addresses (uringBufCount × 16 bytes,
// 32 KiB) is another mapping, which the kernel pins.

// The provided buffer ring's shape.
const (
	uringBufSize  = RecvBufSize
	uringBufCount = 2048 // a power of two, at most 32768 (bufRingEntries may lower it)
	uringBufGroup = 0
)

// bufRingEntries is how many of the buffers a new ring provides (a power
// of two, at most uringBufCount): tests lower it to run the ring dry.
var bufRingEntries = uringBufCount

// udRecvBit marks the user_data of a multishot receive (fd | bit 30 |
// seq<<32), which no fd has.
const udRecvBit = 1 << 30

// recvData is the user_data of fd's multishot receive.
func recvData(fd int, seq uint32) uint64 { return userData(fd, seq) | udRecvBit }

// bufRing is a provided buffer ring and its buffers. provide is safe from
// any goroutine (owners release buffers from theirs).
type bufRing struct {
	mu      sync.Mutex
	mem     []byte // the ring of entries, mapped
	entries []ioUringBuf
	tail    uint16
	// tailWord is the 32-bit word at offset 12 of entry 0: its bid in the
	// low half, the ring's tail (a __u16 the kernel loads with acquire
	// semantics) in the high half. Go has no 16-bit atomic store, so the
	// tail is published by a 32-bit one that writes entry 0's bid back as
	// it is (little-endian; bid is written by provide alone).
	tailWord *uint32
	mask     uint16
	bufs     []byte // mapped; nil once unmapped
	closed   bool
	// out counts the buffers the kernel filled that have not come back.
	out atomic.Int64
}

// newBufRing maps and registers a buffer ring on r and provides every
// buffer to it.
func newBufRing(r *ring) (*bufRing, error) {
	n := bufRingEntries
	size := n * int(unsafe.Sizeof(ioUringBuf{}))
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANONYMOUS|unix.MAP_PRIVATE|unix.MAP_POPULATE)
	if err != nil {
		return nil, os.NewSyscallError("mmap io_uring buffer ring", err)
	}
	bufs, err := unix.Mmap(-1, 0, n*uringBufSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANONYMOUS|unix.MAP_PRIVATE)
	if err != nil {
		_ = unix.Munmap(mem)
		return nil, os.NewSyscallError("mmap io_uring buffers", err)
	}
	reg := ioUringBufReg{RingAddr: uint64(uintptr(unsafe.Pointer(&mem[0]))), RingEntries: uint32(n), Bgid: uringBufGroup}
	if err := r.register(ioringRegisterPbufRing, unsafe.Pointer(&reg), 1); err != nil {
		_ = unix.Munmap(mem)
		_ = unix.Munmap(bufs)
		return nil, os.NewSyscallError("io_uring_register pbuf ring", err)
	}
	b := &bufRing{
		mem:      mem,
		entries:  unsafe.Slice((*ioUringBuf)(unsafe.Pointer(&mem[0])), n),
		tailWord: (*uint32)(unsafe.Pointer(&mem[12])),
		mask:     uint16(n - 1),
		bufs:     bufs,
	}
	for i := range n {
		b.put(uint16(i))
	}
	return b, nil
}

// buf returns buffer bid, whole.
func (b *bufRing) buf(bid uint16) []byte {
	off := int(bid) * uringBufSize
	return b.bufs[off : off+uringBufSize : off+uringBufSize]
}

// filled counts a buffer the kernel filled (a CQE named it).
func (b *bufRing) filled() { b.out.Add(1) }

// provide gives buffer bid, filled by the kernel, back to it; after
// close, the last buffer back unmaps them all.
func (b *bufRing) provide(bid uint16) {
	last := b.out.Add(-1) == 0
	b.mu.Lock()
	b.putLocked(bid)
	if last {
		b.unmapBufsLocked()
	}
	b.mu.Unlock()
}

// unmapBufsLocked unmaps the buffers once the ring is closed and none is
// out.
func (b *bufRing) unmapBufsLocked() {
	if b.closed && b.out.Load() == 0 && b.bufs != nil {
		_ = unix.Munmap(b.bufs)
		b.bufs = nil
	}
}

// put writes buffer bid's entry at the tail, then moves the tail on with
// a release store. After close it does nothing.
func (b *bufRing) put(bid uint16) {
	b.mu.Lock()
	b.putLocked(bid)
	b.mu.Unlock()
}

// putLocked is put under b.mu.
func (b *bufRing) putLocked(bid uint16) {
	if !b.closed && int(bid) < len(b.bufs)/uringBufSize {
		e := &b.entries[b.tail&b.mask]
		e.Addr = uint64(uintptr(unsafe.Pointer(&b.bufs[int(bid)*uringBufSize])))
		e.Len = uringBufSize
		e.Bid = bid
		b.tail++
		atomic.StoreUint32(b.tailWord, uint32(b.entries[0].Bid)|uint32(b.tail)<<16)
	}
}

// close unmaps the ring (after the io_uring is closed: the kernel has
// dropped it), and the buffers unless some are out: the last of those
// to come back unmaps them.
func (b *bufRing) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	b.entries, b.tailWord = nil, nil
	_ = unix.Munmap(b.mem)
	b.mem = nil
	b.unmapBufsLocked()
}

// bufRingLocked returns the backend's buffer ring, setting it up at the
// first call; nil where the kernel refuses one (then registrations fall
// back to readiness).
func (u *URing) bufRingLocked() *bufRing {
	if u.pb == nil && !u.pbRefused {
		if u.r.features&ioringFeatRegRegRing == 0 {
			// No multishot receive before 6.0 (a feature of 6.3 says
			// the kernel is recent enough).
			u.pbRefused = true
			return nil
		}
		pb, err := newBufRing(u.r)
		if err != nil {
			u.pbRefused = true
			return nil
		}
		u.pb = pb
		u.pbShared.Store(pb)
		if !u.probeRecvLimitLocked() {
			// No bound on what a receive takes: readiness alone. The
			// ring stays, unused, until the backend closes.
			u.pbRefused = true
			return nil
		}
	}
	if u.pbRefused {
		return nil
	}
	return u.pb
}

// AddRecv is Add for an fd whose bytes the backend receives itself (a
// multishot receive on the buffer ring) while its poll request watches the
// directions of ev but EPOLLIN. It reports false, having done what Add
// does, where the kernel has no buffer ring for it.
// Its receive takes at most limit bytes before it ends (see above).
func (u *URing) AddRecv(fd int, ev Events, token uint64, limit uint32) (bool, error) {
	return u.add(fd, ev, token, limit)
}

// recvArmLocked queues fd's multishot receive, limited to s.recvLimit
// bytes.
func (u *URing) recvArmLocked(fd int, s *uringSlot) error {
	sqe, err := u.sqeLocked("io_uring recv")
	if err != nil {
		return err
	}
	sqe.Opcode = ioringOpRecv
	sqe.Fd = int32(fd)
	sqe.Ioprio = ioringRecvMultishot
	sqe.Flags = iosqeBufferSelect
	sqe.BufIndex = uringBufGroup
	sqe.OptLen = s.recvLimit
	sqe.UserData = recvData(fd, s.seq)
	s.recvArmed = true
	return nil
}

// ArmRecv arms fd's multishot receive again, limited to limit bytes,
// after it ended (the owner has read the socket to EAGAIN). Armed
// already, it does nothing.
func (u *URing) ArmRecv(fd int, limit uint32) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed || fd < 0 || fd >= len(u.slots) || !u.slots[fd].live || !u.slots[fd].recv {
		return os.NewSyscallError("io_uring recv", unix.EBADF)
	}
	s := &u.slots[fd]
	if s.recvArmed || s.armRecv {
		return nil
	}
	s.recvLimit = limit
	if !u.homeLocked() {
		s.armRecv = true
		u.pending = append(u.pending, fd)
		return u.kickLocked("io_uring recv")
	}
	if err := u.recvArmLocked(fd, s); err != nil {
		return err
	}
	if err := u.submitLocked("io_uring recv"); err != nil {
		s.recvArmed = false
		return err
	}
	return nil
}

// ReleaseBuf gives buffer bid back to the ring.
func (u *URing) ReleaseBuf(bid uint16) {
	if pb := u.pbShared.Load(); pb != nil {
		pb.provide(bid)
	}
}

// buffersOut returns how many buffers the kernel filled that have not
// come back to the ring (held by owners or queued for them).
func (u *URing) buffersOut() int {
	if pb := u.pbShared.Load(); pb != nil {
		return int(pb.out.Load())
	}
	return 0
}

// setRecvSink sets where reap hands receive completions (a token the
// sink does not take gets its buffer back in the ring at once).
func (u *URing) setRecvSink(sink recvSink) { u.sink = sink }

// reapRecv handles a multishot receive's CQE: data, end of stream, an
// error or its end go to the registration's queue, and its fd is reported
// readable; a receive the backend cancelled for its own sake is armed
// again instead (rearmRecvLocked). It reports whether it filled an event,
// and whether it queued an SQE.
func (u *URing) reapRecv(c *ioUringCQE, ev *event) (filled, queued bool) {
	fd, seq := int(uint32(c.UserData)&^udRecvBit), uint32(c.UserData>>32)
	more := c.Flags&ioringCQEFMore != 0
	hasBuf := c.Flags&ioringCQEFBuffer != 0
	bid := uint16(c.Flags >> ioringCQEBufferShift)
	if hasBuf {
		u.pb.filled()
	}
	if fd >= len(u.slots) || !u.slots[fd].live || u.slots[fd].seq != seq || u.sink == nil {
		if hasBuf {
			u.pb.provide(bid) // a removed registration's
		}
		return false, false
	}
	s := &u.slots[fd]
	e := rxEntry{res: c.Res, end: !more}
	if hasBuf {
		if c.Res > 0 {
			e.data, e.bid, e.hasBuf = u.pb.buf(bid)[:c.Res], bid, true
		} else {
			u.pb.provide(bid)
		}
	}
	if !more {
		s.recvArmed, s.recvStopping = false, false
		if c.Res == -int32(unix.ECANCELED) && u.rearmRecvLocked(fd, s) {
			return false, true
		}
		if c.Res > 0 && u.rearmAtLimitLocked(fd, s, hasBuf) {
			e.end, queued = false, true
		}
	}
	room, ok := u.sink.pushRecv(s.token, e)
	if !ok {
		if e.hasBuf {
			u.pb.provide(bid)
		}
		return false, false
	}
	if more && room < 0 && !s.recvStopping {
		// Its registration holds more than its limit in buffers, the
		// bytes short of it (small completions): stop receiving for it
		// (the rest waits in the socket), and let it read to EAGAIN once
		// it has taken what is queued. (Not at the limit itself: an
		// owner with a limit of 1 that keeps up holds 1 at each
		// completion.)
		if sqe, err := u.sqeLocked("io_uring recv cancel"); err == nil {
			sqe.Opcode = ioringOpAsyncCancel
			sqe.Fd = -1
			sqe.Addr = c.UserData
			sqe.UserData = c.UserData | udRemoveBit
			s.recvStopping = true
			queued = true
		}
	}
	*ev = toEpollEvent(unix.EPOLLIN, s.token)
	return true, queued
}

// rearmRecvLocked arms fd's receive again, from the loop's thread, after
// a cancel ended it (the loop's move to another thread, home; the exit of
// the thread that armed it; the cap above) while its owner has room left:
// the owner sees nothing. What the receive took is queued before the
// end, and what it did not take is still in the socket for the new one,
// which takes the room the owner has left, as ArmRecv would. Before, the
// owner met the end (ErrRecvStopped) at every move of the loop, and one
// that was paused received nothing until it resumed (CI, on io_uring:
// TestURingRecvDeregisterReturnsBuffers, whose owner is paused, saw
// nothing in 5 s). An owner with no room left meets the end (false), and
// reads the socket itself when it wants more.
func (u *URing) rearmRecvLocked(fd int, s *uringSlot) bool {
	room, ok := u.sink.recvRoom(s.token)
	if !ok || room < 1 {
		return false
	}
	s.recvLimit = recvBytes(room)
	return u.recvArmLocked(fd, s) == nil
}
