package poller

import (
	"errors"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file is the io_uring ring itself, on golang.org/x/sys/unix alone:
// io_uring_setup(2), the mmap of the submission (SQ) and completion (CQ)
// rings and of the SQE array, the SQE and CQE layouts, and
// io_uring_enter(2). It follows the kernel's include/uapi/linux/io_uring.h,
// the man pages io_uring_setup(2) and io_uring_enter(2), and liburing's
// setup.c (io_uring_queue_mmap). uring_linux.go builds the poller backend
// on it. The ring is not safe for concurrent use: its owner serialises
// every method but enter, which the kernel serialises itself.
//
// Memory ordering (io_uring_setup(2), "Submission Queue Ring" and
// "Completion Queue Ring"): the application writes an SQE and its index
// in the SQ array, then stores the SQ tail with release semantics; it
// loads the SQ head (written by the kernel) with acquire semantics. For
// the CQ, it loads the tail (written by the kernel) with acquire
// semantics, reads the CQEs up to it, then stores the head with release
// semantics. Go's sync/atomic loads and stores are sequentially
// consistent, which is at least that.

// The constants of include/uapi/linux/io_uring.h that this package uses.
const (
	// mmap offsets of the three regions (io_uring_setup(2)).
	ioringOffSQRing = 0
	ioringOffCQRing = 0x8000000
	ioringOffSQEs   = 0x10000000

	// io_uring_params.flags: CQSIZE takes cq_entries from the params,
	// CLAMP clamps the sizes to the kernel's maxima rather than failing.
	ioringSetupCQSize = 1 << 3
	ioringSetupClamp  = 1 << 4
	// COOP_TASKRUN: a completion's task work does not interrupt the
	// loop's thread while it runs in user space (it runs at the thread's
	// next system call, or its wait); TASKRUN_FLAG: the kernel says so
	// with IORING_SQ_TASKRUN in the SQ ring's flags (both 5.19).
	ioringSetupCoopTaskrun = 1 << 8
	ioringSetupTaskrunFlag = 1 << 9

	// io_uring_params.features the backend needs.
	ioringFeatSingleMmap = 1 << 0  // SQ and CQ rings in one mapping (5.4)
	ioringFeatNoDrop     = 1 << 1  // CQEs are never dropped on overflow (5.5)
	ioringFeatExtArg     = 1 << 8  // io_uring_getevents_arg, a timeout for enter (5.11)
	ioringFeatRsrcTags   = 1 << 10 // 5.13, the release that brought multishot poll
	ioringFeatRegRegRing = 1 << 13 // 6.3: a kernel with multishot receive (6.0)

	// io_uring_enter(2) flags.
	ioringEnterGetEvents = 1 << 0
	ioringEnterExtArg    = 1 << 3

	// sq_ring flags: CQEs overflowed into the kernel's backlog, an enter
	// with IORING_ENTER_GETEVENTS flushes them into the CQ ring.
	ioringSQCQOverflow = 1 << 1
	// sq_ring flags: task work is pending (with TASKRUN_FLAG): an enter
	// with IORING_ENTER_GETEVENTS runs it, and its CQEs come.
	ioringSQTaskrun = 1 << 2

	// Opcodes.
	ioringOpNop         = 0
	ioringOpPollAdd     = 6
	ioringOpPollRemove  = 7
	ioringOpAsyncCancel = 14
	ioringOpRecv        = 27

	// sqe->flags: pick a buffer from the group in sqe->buf_group.
	iosqeBufferSelect = 1 << 5

	// IORING_OP_RECV flags, in sqe->ioprio: multishot (6.0).
	ioringRecvMultishot = 1 << 1

	// io_uring_register(2) opcode: register a provided buffer ring (5.19).
	ioringRegisterPbufRing = 22

	// IORING_OP_POLL_ADD flags, in sqe->len: multishot (5.13).
	ioringPollAddMulti = 1 << 0

	// cqe->flags: the request stays armed and more CQEs will come;
	// a provided buffer holds the data, its id in the upper 16 bits.
	ioringCQEFBuffer     = 1 << 0
	ioringCQEFMore       = 1 << 1
	ioringCQEBufferShift = 16
)

// ioSQRingOffsets is struct io_sqring_offsets: where each field of the SQ
// ring lies in its mapping.
type ioSQRingOffsets struct {
	Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1 uint32
	UserAddr                                                        uint64
}

// ioCQRingOffsets is struct io_cqring_offsets.
type ioCQRingOffsets struct {
	Head, Tail, RingMask, RingEntries, Overflow, CQEs, Flags, Resv1 uint32
	UserAddr                                                        uint64
}

// ioUringParams is struct io_uring_params, the argument and result of
// io_uring_setup(2).
type ioUringParams struct {
	SQEntries, CQEntries, Flags, SQThreadCPU, SQThreadIdle, Features, WQFd uint32
	Resv                                                                   [3]uint32
	SQOff                                                                  ioSQRingOffsets
	CQOff                                                                  ioCQRingOffsets
}

// ioUringSQE is struct io_uring_sqe (64 bytes), with the unions named by
// what this package puts in them: OpFlags is poll32_events for
// IORING_OP_POLL_ADD (little-endian layout), Len its IORING_POLL_ADD_*
// flags, Addr the user_data a IORING_OP_POLL_REMOVE removes, OptLen
// (splice_fd_in, file_index, optlen) a multishot receive's byte limit.
type ioUringSQE struct {
	Opcode      uint8
	Flags       uint8
	Ioprio      uint16
	Fd          int32
	Off         uint64
	Addr        uint64
	Len         uint32
	OpFlags     uint32
	UserData    uint64
	BufIndex    uint16
	Personality uint16
	OptLen      uint32
	Addr3       uint64
	Pad2        uint64
}

// ioUringCQE is struct io_uring_cqe (16 bytes; no IORING_SETUP_CQE32).
type ioUringCQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

// ioUringGeteventsArg is struct io_uring_getevents_arg, passed to
// io_uring_enter(2) with IORING_ENTER_EXT_ARG; Ts points to a
// struct __kernel_timespec.
type ioUringGeteventsArg struct {
	Sigmask     uint64
	SigmaskSz   uint32
	MinWaitUsec uint32
	Ts          uint64
}

// ioUringBufReg is struct io_uring_buf_reg, the argument of
// IORING_REGISTER_PBUF_RING: the ring's address (page aligned), its
// entries (a power of two) and the buffer group id.
type ioUringBufReg struct {
	RingAddr    uint64
	RingEntries uint32
	Bgid        uint16
	Flags       uint16
	Resv        [3]uint64
}

// ioUringBuf is struct io_uring_buf, one entry of a provided buffer ring.
// The ring's tail (a __u16) overlays the resv field of entry 0.
type ioUringBuf struct {
	Addr uint64
	Len  uint32
	Bid  uint16
	Resv uint16
}

// The layouts must match the kernel's byte for byte.
var (
	_ [unsafe.Sizeof(ioUringBufReg{}) - 40]struct{}
	_ [40 - unsafe.Sizeof(ioUringBufReg{})]struct{}
	_ [unsafe.Sizeof(ioUringBuf{}) - 16]struct{}
	_ [16 - unsafe.Sizeof(ioUringBuf{})]struct{}
	_ [unsafe.Sizeof(ioUringSQE{}) - 64]struct{}
	_ [64 - unsafe.Sizeof(ioUringSQE{})]struct{}
	_ [unsafe.Sizeof(ioUringCQE{}) - 16]struct{}
	_ [16 - unsafe.Sizeof(ioUringCQE{})]struct{}
	_ [unsafe.Sizeof(ioUringParams{}) - 120]struct{}
	_ [120 - unsafe.Sizeof(ioUringParams{})]struct{}
	_ [unsafe.Sizeof(ioUringGeteventsArg{}) - 24]struct{}
	_ [24 - unsafe.Sizeof(ioUringGeteventsArg{})]struct{}
)

// errURingTooOld is the setup's refusal of a kernel that lacks a feature
// the backend needs (multishot poll, a timeout for enter, no dropped CQEs).
var errURingTooOld = errors.New("io_uring too old (needs Linux 5.13: multishot poll)")

// uringSetup is io_uring_setup(2); a variable so that tests can make the
// kernel refuse.
var uringSetup = func(entries uint32, p *ioUringParams) (int, error) {
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// ring is one io_uring instance: its fd and its three mappings, with the
// fields of the rings as pointers into them.
type ring struct {
	fd       int
	features uint32 // io_uring_params.features

	sqMem, cqMem, sqeMem []byte // cqMem aliases sqMem with IORING_FEAT_SINGLE_MMAP

	// The SQ ring: the kernel reads entries head..tail.
	sqHead, sqTail, sqFlags *uint32
	sqMask, sqEntries       uint32
	sqArray                 []uint32
	sqes                    []ioUringSQE
	// sqLocal is the tail as written, published by flushSQ.
	sqLocal uint32

	// The CQ ring: the application reads entries head..tail.
	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []ioUringCQE
}

// newRing sets up an io_uring with sqEntries submission and cqEntries
// completion entries (clamped by the kernel) and maps its rings.
func newRing(sqEntries, cqEntries uint32) (*ring, error) {
	p := ioUringParams{Flags: ioringSetupCQSize | ioringSetupClamp | ioringSetupCoopTaskrun | ioringSetupTaskrunFlag, CQEntries: cqEntries}
	fd, err := uringSetup(sqEntries, &p)
	if err == unix.EINVAL {
		// A kernel before 5.19: without cooperative task work.
		p = ioUringParams{Flags: ioringSetupCQSize | ioringSetupClamp, CQEntries: cqEntries}
		fd, err = uringSetup(sqEntries, &p)
	}
	if err != nil {
		return nil, os.NewSyscallError("io_uring_setup", err)
	}
	const need = ioringFeatNoDrop | ioringFeatExtArg | ioringFeatRsrcTags
	if p.Features&need != need {
		unix.Close(fd)
		return nil, errURingTooOld
	}
	r := &ring{fd: fd, features: p.Features}
	if err := r.mmap(&p); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return r, nil
}

// mmap maps the rings and the SQE array, as liburing's io_uring_mmap:
// the SQ ring is sq_off.array plus one uint32 per entry long, the CQ ring
// cq_off.cqes plus one CQE per entry; with IORING_FEAT_SINGLE_MMAP both
// live in one mapping as long as the longer of them.
func (r *ring) mmap(p *ioUringParams) error {
	sqSize := int(p.SQOff.Array) + int(p.SQEntries)*4
	cqSize := int(p.CQOff.CQEs) + int(p.CQEntries)*int(unsafe.Sizeof(ioUringCQE{}))
	single := p.Features&ioringFeatSingleMmap != 0
	if single {
		sqSize = max(sqSize, cqSize)
	}
	const prot, flags = unix.PROT_READ | unix.PROT_WRITE, unix.MAP_SHARED | unix.MAP_POPULATE
	var err error
	if r.sqMem, err = unix.Mmap(r.fd, ioringOffSQRing, sqSize, prot, flags); err != nil {
		return os.NewSyscallError("mmap io_uring sq ring", err)
	}
	r.cqMem = r.sqMem
	if !single {
		if r.cqMem, err = unix.Mmap(r.fd, ioringOffCQRing, cqSize, prot, flags); err != nil {
			r.unmap()
			return os.NewSyscallError("mmap io_uring cq ring", err)
		}
	}
	sqeSize := int(p.SQEntries) * int(unsafe.Sizeof(ioUringSQE{}))
	if r.sqeMem, err = unix.Mmap(r.fd, ioringOffSQEs, sqeSize, prot, flags); err != nil {
		r.unmap()
		return os.NewSyscallError("mmap io_uring sqes", err)
	}

	r.sqHead = u32At(r.sqMem, p.SQOff.Head)
	r.sqTail = u32At(r.sqMem, p.SQOff.Tail)
	r.sqFlags = u32At(r.sqMem, p.SQOff.Flags)
	r.sqMask = *u32At(r.sqMem, p.SQOff.RingMask)
	r.sqEntries = *u32At(r.sqMem, p.SQOff.RingEntries)
	r.sqArray = unsafe.Slice(u32At(r.sqMem, p.SQOff.Array), r.sqEntries)
	r.sqes = unsafe.Slice((*ioUringSQE)(unsafe.Pointer(&r.sqeMem[0])), r.sqEntries)
	r.sqLocal = atomic.LoadUint32(r.sqTail)

	r.cqHead = u32At(r.cqMem, p.CQOff.Head)
	r.cqTail = u32At(r.cqMem, p.CQOff.Tail)
	r.cqMask = *u32At(r.cqMem, p.CQOff.RingMask)
	cqEntries := *u32At(r.cqMem, p.CQOff.RingEntries)
	r.cqes = unsafe.Slice((*ioUringCQE)(unsafe.Pointer(&r.cqMem[p.CQOff.CQEs])), cqEntries)
	return nil
}

// u32At returns a pointer to the uint32 at off in a ring mapping.
func u32At(mem []byte, off uint32) *uint32 {
	return (*uint32)(unsafe.Pointer(&mem[off]))
}

// unmap unmaps what mmap mapped.
func (r *ring) unmap() {
	if r.sqeMem != nil {
		_ = unix.Munmap(r.sqeMem)
	}
	if r.cqMem != nil && &r.cqMem[0] != &r.sqMem[0] {
		_ = unix.Munmap(r.cqMem)
	}
	if r.sqMem != nil {
		_ = unix.Munmap(r.sqMem)
	}
	r.sqMem, r.cqMem, r.sqeMem = nil, nil, nil
	r.sqArray, r.sqes, r.cqes = nil, nil, nil
}

// close unmaps the rings and closes the ring's fd: the kernel cancels
// every request still armed (and drops the file references they hold).
func (r *ring) close() error {
	r.unmap()
	if err := unix.Close(r.fd); err != nil {
		return os.NewSyscallError("close io_uring", err)
	}
	return nil
}

// getSQE returns the next free SQE, zeroed, or nil if the SQ ring is full
// (entries written but not yet consumed by the kernel fill it).
func (r *ring) getSQE() *ioUringSQE {
	head := atomic.LoadUint32(r.sqHead)
	if r.sqLocal-head >= r.sqEntries {
		return nil
	}
	i := r.sqLocal & r.sqMask
	r.sqArray[i] = i
	r.sqLocal++
	sqe := &r.sqes[i]
	*sqe = ioUringSQE{}
	return sqe
}

// flushSQ publishes the SQEs written since the last flush (a release store
// of the tail) and returns how many the kernel has not consumed yet.
func (r *ring) flushSQ() uint32 {
	atomic.StoreUint32(r.sqTail, r.sqLocal)
	return r.sqLocal - atomic.LoadUint32(r.sqHead)
}

// cqOverflowed reports whether CQEs wait in the kernel's overflow backlog,
// or task work that would post some (IORING_SQ_TASKRUN): an enter with
// IORING_ENTER_GETEVENTS brings them.
func (r *ring) cqOverflowed() bool {
	return atomic.LoadUint32(r.sqFlags)&(ioringSQCQOverflow|ioringSQTaskrun) != 0
}

// enter is io_uring_enter(2): submit up to toSubmit published SQEs and,
// with IORING_ENTER_GETEVENTS, wait for minComplete CQEs (arg, if not nil,
// is an io_uring_getevents_arg with IORING_ENTER_EXT_ARG). It returns the
// number of SQEs submitted. It may run beside the owner's other methods:
// the kernel reads the rings itself, under its own lock. An enter that
// waits for no completion cannot block, so it is made without the
// runtime's entersyscall, as the socket package's data path is
// (socket/syscall_linux.go says why).
func (r *ring) enter(toSubmit, minComplete, flags uint32, arg *ioUringGeteventsArg) (int, error) {
	argp, argSize := arg.ptr()
	var n uintptr
	var errno unix.Errno
	if minComplete == 0 {
		n, _, errno = unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), 0, uintptr(flags), argp, argSize)
	} else {
		n, _, errno = unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(minComplete), uintptr(flags), argp, argSize)
	}
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// enterHandoff is enter with nothing to submit, made after giving up the
// goroutine's P (handoff_linux.go): for a wait that blocks.
func (r *ring) enterHandoff(minComplete, flags uint32, arg *ioUringGeteventsArg) (int, error) {
	argp, argSize := arg.ptr()
	n, errno := syscallHandoff(unix.SYS_IO_URING_ENTER, uintptr(r.fd), 0, uintptr(minComplete), uintptr(flags), argp, argSize)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// ptr is arg's address and size as io_uring_enter takes them (0, 0 for
// nil). The caller keeps arg alive over the call.
func (arg *ioUringGeteventsArg) ptr() (uintptr, uintptr) {
	if arg == nil {
		return 0, 0
	}
	return uintptr(unsafe.Pointer(arg)), unsafe.Sizeof(*arg)
}

// register is io_uring_register(2) with one argument.
func (r *ring) register(opcode uint32, arg unsafe.Pointer, nrArgs uint32) error {
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), uintptr(opcode), uintptr(arg), uintptr(nrArgs), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
