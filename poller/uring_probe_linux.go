package poller

import (
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// probeRecvLimitLocked reports whether the kernel bounds a multishot
// receive by a byte count (sqe->optlen; IORING_RECV_MSHOT_LIM in
// io_uring/net.c, Linux 6.17), which the receive path needs to bound
// what a connection holds (uring_recv_linux.go). No feature flag or
// probe opcode says so: before 6.17 io_recvmsg_prep refuses a non-zero
// optlen (it shares its union with file_index) with EINVAL. So it arms a
// receive limited to 1 byte on a socketpair holding 2 bytes, and looks
// for its CQE, which the submission posts inline (the bytes are there):
// a kernel that honours the limit ends the receive with the bytes and
// without IORING_CQE_F_MORE. Its CQE stays in the CQ ring; reap gives its
// buffer back. It runs once per ring, under u.mu, after the buffer ring is
// registered.
func (u *URing) probeRecvLimitLocked() bool {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	if _, err := unix.Write(fds[1], []byte("ok")); err != nil {
		return false
	}
	sqe, err := u.sqeLocked("io_uring recv probe")
	if err != nil {
		return false
	}
	sqe.Opcode = ioringOpRecv
	sqe.Fd = int32(fds[0])
	sqe.Ioprio = ioringRecvMultishot
	sqe.Flags = iosqeBufferSelect
	sqe.BufIndex = uringBufGroup
	sqe.OptLen = 1
	sqe.UserData = udProbe
	if err := u.submitLocked("io_uring recv probe"); err != nil {
		return false
	}
	r := u.r
	for deadline := time.Now().Add(removeGiveUp); ; {
		tail := atomic.LoadUint32(r.cqTail)
		for head := atomic.LoadUint32(r.cqHead); head != tail; head++ {
			if c := &r.cqes[head&r.cqMask]; c.UserData == udProbe {
				ok := c.Res > 0 && c.Flags&ioringCQEFMore == 0
				if !ok && c.Flags&ioringCQEFMore != 0 {
					// Armed and unlimited: cancel it before its
					// socket closes (its CQEs are reap's to drop).
					u.cancelProbeLocked()
				}
				return ok
			}
		}
		if time.Now().After(deadline) {
			u.cancelProbeLocked()
			return false
		}
		_, _ = r.enter(0, tail-atomic.LoadUint32(r.cqHead)+1, ioringEnterGetEvents|ioringEnterExtArg, &removeWait.arg)
	}
}

// cancelProbeLocked cancels the probe's receive; the cancel's own CQE is
// read and dropped as a NOP's.
func (u *URing) cancelProbeLocked() {
	if sqe, err := u.sqeLocked("io_uring recv probe"); err == nil {
		sqe.Opcode = ioringOpAsyncCancel
		sqe.Fd = -1
		sqe.Addr = udProbe
		sqe.UserData = udSync
		_ = u.submitLocked("io_uring recv probe")
	}
}
