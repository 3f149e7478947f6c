package poller

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// event is one readiness event as the kernel fills it in: on Linux an
// epoll_event, read in place by the functions below (inlined, so the
// loop reads the epoll bits directly, with nothing converted per event).
type event = unix.EpollEvent

// watched is what every registration watches: input, urgent data,
// output and peer hang-up, edge-triggered, registered once.
const watched = unix.EPOLLIN | unix.EPOLLPRI | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET

// wakeConsumed is false: the eventfd stays readable until ResetWake
// reads it, and io_uring's wake-up stays raised until ResetWake lowers
// it (see Poller.drain).
const wakeConsumed = false

// tokenOf returns the token ev carries.
func tokenOf(ev *event) uint64 { return TokenOf(ev) }

// hangUp reports a peer hang-up or an error: EPOLLRDHUP, EPOLLHUP or EPOLLERR.
func hangUp(ev *event) bool {
	return ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0
}

// readable reports input, urgent data, end of stream, a hang-up or an
// error.
func readable(ev *event) bool {
	return ev.Events&(unix.EPOLLIN|unix.EPOLLPRI|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0
}

// urgentData reports TCP urgent data (EPOLLPRI): a read stops short at
// its mark (Registration.ShortReadDrains).
func urgentData(ev *event) bool { return ev.Events&unix.EPOLLPRI != 0 }

// writable reports send space, a hang-up or an error.
func writable(ev *event) bool {
	return ev.Events&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0
}

// Epoll is a plain epoll instance with an eventfd for wake-ups. Add, Modify,
// Remove and Wake are safe to call from any goroutine while one goroutine is
// in Wait (epoll_ctl is thread-safe); Close must come after Wait returns
// for the last time.
type Epoll struct {
	epfd int
	evfd int
	park *parker // WaitParked's; owns epfd
}

var _ backend = (*Epoll)(nil)

// NewEpoll opens an epoll instance and its wake-up eventfd.
func NewEpoll() (*Epoll, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	e := &Epoll{epfd: epfd, evfd: evfd}
	if err := e.Add(evfd, unix.EPOLLIN, wakeToken); err != nil {
		unix.Close(evfd)
		unix.Close(epfd)
		return nil, err
	}
	k, err := newParker(epfd, "epoll", func(ev []event) (int, error) { return e.Wait(ev, 0) })
	if err != nil { // epfd closed
		unix.Close(evfd)
		return nil, err
	}
	e.park = k
	return e, nil
}

func toEpollEvent(ev Events, token uint64) unix.EpollEvent {
	return unix.EpollEvent{Events: ev, Fd: int32(uint32(token)), Pad: int32(uint32(token >> 32))}
}

// TokenOf returns the token an epoll event carries.
func TokenOf(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// Add registers fd for ev with the given token (EPOLL_CTL_ADD).
func (e *Epoll) Add(fd int, ev Events, token uint64) error {
	ee := toEpollEvent(ev, token)
	if err := epollCtl(e.epfd, unix.EPOLL_CTL_ADD, fd, &ee); err != nil {
		return os.NewSyscallError("epoll_ctl add", err)
	}
	return nil
}

// Modify changes fd's events and token (EPOLL_CTL_MOD).
func (e *Epoll) Modify(fd int, ev Events, token uint64) error {
	ee := toEpollEvent(ev, token)
	if err := epollCtl(e.epfd, unix.EPOLL_CTL_MOD, fd, &ee); err != nil {
		return os.NewSyscallError("epoll_ctl mod", err)
	}
	return nil
}

// Remove deregisters fd (EPOLL_CTL_DEL).
func (e *Epoll) Remove(fd int) error {
	if err := epollCtl(e.epfd, unix.EPOLL_CTL_DEL, fd, nil); err != nil {
		return os.NewSyscallError("epoll_ctl del", err)
	}
	return nil
}

// Wait waits up to msec milliseconds (-1: forever, 0: not at all) and fills
// events. EINTR is reported as zero events. A poll (msec 0) cannot block,
// so it is made without the runtime's entersyscall, as the socket
// package's data path is (socket/syscall_linux.go says why).
func (e *Epoll) Wait(events []unix.EpollEvent, msec int) (int, error) {
	if msec != 0 || len(events) == 0 {
		n, err := unix.EpollWait(e.epfd, events, msec)
		return waitResult(n, err)
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(e.epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if errno != 0 {
		return waitResult(0, errno)
	}
	return int(n), nil
}

// waitResult is what Wait returns for epoll_wait's n and error.
func waitResult(n int, err error) (int, error) {
	if err == unix.EINTR {
		return 0, nil
	}
	if err != nil {
		return 0, os.NewSyscallError("epoll_wait", err)
	}
	return n, nil
}

// WaitHandoff is Wait for a wait that blocks (msec != 0), made after
// giving up the goroutine's P (handoff_linux.go).
func (e *Epoll) WaitHandoff(events []unix.EpollEvent, msec int) (int, error) {
	if len(events) == 0 || msec == 0 {
		return e.Wait(events, msec)
	}
	n, errno := epollWaitHandoff(e.epfd, events, msec)
	if errno != 0 {
		return waitResult(0, errno)
	}
	return n, nil
}

// WaitParked is a blocking Wait that parks the goroutine in Go's
// netpoller instead of blocking its thread (parker); parked is false
// when its first poll found events.
func (e *Epoll) WaitParked(events []unix.EpollEvent) (n int, parked bool, err error) {
	return e.park.wait(events)
}

// parks reports that an epoll loop's released waits always park.
func (e *Epoll) parks() bool { return true }

func (e *Epoll) updateParks() {}

// Wake makes a Wait in progress return, by writing to the eventfd.
func (e *Epoll) Wake() error {
	var one = [8]byte{1}
	_, err := unix.Write(e.evfd, one[:])
	if err != nil && err != unix.EAGAIN {
		return os.NewSyscallError("eventfd write", err)
	}
	return nil
}

// ResetWake clears the eventfd after a wake-up was seen.
func (e *Epoll) ResetWake() {
	var buf [8]byte
	_, _ = unix.Read(e.evfd, buf[:])
}

// Close closes the eventfd and the epoll fd.
func (e *Epoll) Close() error {
	err1 := unix.Close(e.evfd)
	err2 := e.park.close()
	if err1 != nil {
		return os.NewSyscallError("close eventfd", err1)
	}
	if err2 != nil {
		return err2
	}
	return nil
}

// epollCtl is epoll_ctl(2) made raw: it never waits (see Wait).
func epollCtl(epfd, op, fd int, ev *unix.EpollEvent) error {
	if _, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0); e != 0 {
		return e
	}
	return nil
}
