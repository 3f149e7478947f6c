package poller

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file is the io_uring backend's send path (see send.go): Send queues
// an IORING_OP_SEND on the registration's fd and does not submit it; the
// loop's next reap submits every queued SQE in one io_uring_enter before
// it reads the CQ ring, so the completions of sends queued in one turn
// are read in the next, with one system call between them for all.
//
//   - The send is non-blocking (MSG_DONTWAIT in sqe->msg_flags): with it
//     io_uring does not arm a poll and retry (REQ_F_NOWAIT), so the send
//     completes inside the enter that submits it, with the bytes the
//     socket took or -EAGAIN, as a non-blocking write(2). So a send holds
//     its file only while it is queued and submitted, never afterwards,
//     and the owner waits for writability on EAGAIN as it does after
//     write(2) (the poll request watches EPOLLOUT).
//   - MSG_NOSIGNAL: a closed peer is EPIPE, never SIGPIPE, as write(2)
//     with sendFlags.
//   - The bytes must stay put until the kernel copied them: the slot
//     keeps a reference to them (the GC must not free them) until the
//     send's CQE is read, and the owner does not reuse them until it took
//     the result. A Remove while a send is queued cancels it and waits for
//     its end as it does for a poll or a receive (a send still in the SQ
//     ring goes with the removal's submission, to the fd that is still
//     open); the reference then moves to orphans until the CQE is read,
//     in case the wait gave up.
//   - Its CQE (user_data fd | bit 29 | seq<<32) hands the result to the
//     registration (Poller.pushSend) and reports the fd writable, which
//     delivers Ready(Writable) to the owner. A CQE of a removed
//     registration's send is dropped, so none reaches a later
//     registration of the same fd.

// ioringOpSend is IORING_OP_SEND (5.6).
const ioringOpSend = 26

// sendOpcode is the opcode Send queues: a variable so that a test can make
// the kernel refuse it (an unknown opcode is EINVAL in the CQE).
var sendOpcode uint8 = ioringOpSend

// udSendBit marks the user_data of a send (fd | bit 29 | seq<<32).
const udSendBit = 1 << 29

// sendData is the user_data of fd's send.
func sendData(fd int, seq uint32) uint64 { return userData(fd, seq) | udSendBit }

// maxSend bounds one send's length (sqe->len is 32 bits; the socket
// takes less anyway).
const maxSend = 1 << 30

// Send queues a send of p on fd, a live registration with no send queued;
// the loop's next reap submits it.
func (u *URing) Send(fd int, p []byte) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed || fd < 0 || fd >= len(u.slots) || !u.slots[fd].live || u.slots[fd].sendArmed {
		return os.NewSyscallError("io_uring send", unix.EBADF)
	}
	s := &u.slots[fd]
	sqe, err := u.sqeLocked("io_uring send")
	if err != nil {
		return err
	}
	p = p[:min(len(p), maxSend)]
	sqe.Opcode = sendOpcode
	sqe.Fd = int32(fd)
	sqe.Addr = uint64(uintptr(unsafe.Pointer(unsafe.SliceData(p))))
	sqe.Len = uint32(len(p))
	sqe.OpFlags = unix.MSG_NOSIGNAL | unix.MSG_DONTWAIT
	sqe.UserData = sendData(fd, s.seq)
	s.sendArmed, s.sendBuf = true, p
	u.sends.Add(1)
	return nil
}

// setSendSink sets where reap hands send completions.
func (u *URing) setSendSink(sink func(token uint64, res int32)) { u.sendSink = sink }

// reapSend handles a send's CQE; it reports whether it filled ev.
func (u *URing) reapSend(c *ioUringCQE, ev *event) bool {
	fd, seq := int(uint32(c.UserData)&^udSendBit), uint32(c.UserData>>32)
	if fd >= len(u.slots) || !u.slots[fd].live || u.slots[fd].seq != seq || !u.slots[fd].sendArmed {
		delete(u.sendOrphans, c.UserData) // a removed registration's
		return false
	}
	s := &u.slots[fd]
	s.sendArmed, s.sendBuf = false, nil
	if u.sendSink == nil {
		return false
	}
	u.sendSink(s.token, c.Res)
	*ev = toEpollEvent(unix.EPOLLOUT, s.token)
	return true
}

// removeSendLocked returns the user_data of fd's queued send for Remove
// to cancel (0 if none), its bytes kept in orphans until its CQE is read.
func (u *URing) removeSendLocked(fd int, s *uringSlot) uint64 {
	if !s.sendArmed {
		return 0
	}
	sd := sendData(fd, s.seq)
	if u.sendOrphans == nil {
		u.sendOrphans = make(map[uint64][]byte)
	}
	u.sendOrphans[sd] = s.sendBuf
	s.sendArmed, s.sendBuf = false, nil
	return sd
}

// submitQueuedLocked submits what Send (and others) queued: the loop's
// one enter for its turn's sends.
func (u *URing) submitQueuedLocked() error {
	if u.r.flushSQ() == 0 {
		return nil
	}
	return u.submitLocked("io_uring send")
}

// sendCount returns how many sends were queued.
func (u *URing) sendCount() uint64 { return u.sends.Load() }
