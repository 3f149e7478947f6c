//go:build darwin || freebsd

package poller

import (
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file is the kqueue backend of macOS and FreeBSD. It follows Go's own
// poller, src/runtime/netpoll_kqueue.go and netpoll_kqueue_event.go:
// EVFILT_READ and EVFILT_WRITE registered once per fd, edge-triggered
// (EV_ADD|EV_CLEAR); an EVFILT_USER event raised with NOTE_TRIGGER for
// Wake; EV_EOF read as a hang-up, EV_ERROR as an error; the token (fd and
// generation) in udata. It is built and vetted in CI, not run there: keep
// it this small and this close to the runtime's.

// KqueueRead and KqueueWrite are the Events of a kqueue registration: its
// EVFILT_READ and its EVFILT_WRITE filter.
const (
	KqueueRead Events = 1 << iota
	KqueueWrite
)

// watched is what every registration watches: both filters.
const watched = KqueueRead | KqueueWrite

// wakeConsumed is true: the loop that takes the EV_CLEAR wake-up event
// consumes it (see Poller.drain).
const wakeConsumed = true

// wakeIdent is the ident of the EVFILT_USER wake-up event, any number:
// this is the runtime's (kqIdent), in a kqueue of our own.
const wakeIdent = 0xee1eb9f4

// event is unix.Kevent_t with its udata as integers: the kernel hands udata
// back as it was given, and a token (fd | generation<<32) is not a pointer,
// so it must not sit in Kevent_t's *byte, which the garbage collector scans
// (it would take some tokens for bad pointers into its heap). The layout is
// Kevent_t's (checked below: 64-bit platforms only); udata[0] is udata,
// the rest FreeBSD's ext[4].
type event struct {
	Ident  uint64
	Filter int16
	Flags  uint16
	Fflags uint32
	Data   int64
	udata  [(unsafe.Sizeof(unix.Kevent_t{}) - unsafe.Offsetof(unix.Kevent_t{}.Udata)) / 8]uint64
}

// Compile-time checks that event and unix.Kevent_t have one layout.
var (
	_ [unsafe.Sizeof(event{}) - unsafe.Sizeof(unix.Kevent_t{})]struct{}
	_ [unsafe.Sizeof(unix.Kevent_t{}) - unsafe.Sizeof(event{})]struct{}
	_ [unsafe.Offsetof(event{}.udata) - unsafe.Offsetof(unix.Kevent_t{}.Udata)]struct{}
	_ [unsafe.Offsetof(unix.Kevent_t{}.Udata) - unsafe.Offsetof(event{}.udata)]struct{}
	_ [unsafe.Offsetof(event{}.Data) - unsafe.Offsetof(unix.Kevent_t{}.Data)]struct{}
	_ [unsafe.Offsetof(unix.Kevent_t{}.Data) - unsafe.Offsetof(event{}.Data)]struct{}
)

// kevents is evs as the []unix.Kevent_t that unix.Kevent takes.
func kevents(evs []event) []unix.Kevent_t {
	if len(evs) == 0 {
		return nil
	}
	return unsafe.Slice((*unix.Kevent_t)(unsafe.Pointer(&evs[0])), len(evs))
}

func kevent(fd int, filter int16, flags uint16, token uint64) event {
	ev := event{Ident: uint64(fd), Filter: filter, Flags: flags}
	ev.udata[0] = token
	return ev
}

// tokenOf returns the token ev carries; the wake-up event's is wakeToken.
func tokenOf(ev *event) uint64 {
	if ev.Filter == unix.EVFILT_USER {
		return wakeToken
	}
	return ev.udata[0]
}

// hangUp reports end of stream (EV_EOF: the peer's FIN on EVFILT_READ, a
// connection that cannot send on EVFILT_WRITE) or an error (EV_ERROR).
func hangUp(ev *event) bool { return ev.Flags&(unix.EV_EOF|unix.EV_ERROR) != 0 }

// urgentData is false: kqueue does not report TCP urgent data apart
// (Registration.ShortReadDrains).
func urgentData(*event) bool { return false }

// readable reports EVFILT_READ (data, end of stream, a pending connection
// or the socket's error) or an error.
func readable(ev *event) bool {
	return ev.Filter == unix.EVFILT_READ || ev.Flags&unix.EV_ERROR != 0
}

// writable reports EVFILT_WRITE, an error, or EV_EOF on EVFILT_READ: as
// the runtime notes, some systems report a closed peer to the write side
// only that way. A writer woken for nothing meets EAGAIN and waits again.
func writable(ev *event) bool {
	return ev.Filter == unix.EVFILT_WRITE || ev.Flags&unix.EV_ERROR != 0 ||
		ev.Filter == unix.EVFILT_READ && ev.Flags&unix.EV_EOF != 0
}

// openBackend opens the poller's kernel instance: kqueue on the BSDs,
// whatever kind asks for (epoll and io_uring fall back to it, said once).
func openBackend(kind Backend) (backend, Backend, error) {
	if kind == BackendEpoll || kind == BackendIOUring {
		sayFallback(kind, BackendKqueue, errors.New("not on this OS"))
	}
	k, err := NewKqueue()
	if err != nil {
		return nil, BackendKqueue, err
	}
	return k, BackendKqueue, nil
}

// Kqueue is a plain kqueue with an EVFILT_USER event for wake-ups. Add,
// Remove and Wake are safe to call from any goroutine while one goroutine
// is in Wait (kevent is thread-safe); Close must come after Wait returns
// for the last time.
type Kqueue struct {
	kq int
}

var _ backend = (*Kqueue)(nil)

// NewKqueue opens a close-on-exec kqueue and adds its wake-up event.
func NewKqueue() (*Kqueue, error) {
	kq, err := unix.Kqueue()
	if err != nil {
		return nil, os.NewSyscallError("kqueue", err)
	}
	unix.CloseOnExec(kq)
	k := &Kqueue{kq: kq}
	wake := [1]event{kevent(wakeIdent, unix.EVFILT_USER, unix.EV_ADD|unix.EV_CLEAR, wakeToken)}
	if err := k.change("kevent add EVFILT_USER", wake[:]); err != nil {
		unix.Close(kq)
		return nil, err
	}
	return k, nil
}

// change applies changes. As the runtime does, it retries on EINTR
// (which may come after the changes were applied; applying them again is
// harmless).
func (k *Kqueue) change(op string, changes []event) error {
	for {
		_, err := unix.Kevent(k.kq, kevents(changes), nil, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError(op, err)
		}
		return nil
	}
}

// Add registers fd's filters named in ev (KqueueRead, KqueueWrite),
// edge-triggered (EV_ADD|EV_CLEAR), with the given token.
func (k *Kqueue) Add(fd int, ev Events, token uint64) error {
	var ch [2]event
	n := 0
	if ev&KqueueRead != 0 {
		ch[n] = kevent(fd, unix.EVFILT_READ, unix.EV_ADD|unix.EV_CLEAR, token)
		n++
	}
	if ev&KqueueWrite != 0 {
		ch[n] = kevent(fd, unix.EVFILT_WRITE, unix.EV_ADD|unix.EV_CLEAR, token)
		n++
	}
	return k.change("kevent add", ch[:n])
}

// Remove deletes both of fd's filters (EV_DELETE). Closing the fd deletes
// them too.
func (k *Kqueue) Remove(fd int) error {
	ch := [2]event{
		kevent(fd, unix.EVFILT_READ, unix.EV_DELETE, 0),
		kevent(fd, unix.EVFILT_WRITE, unix.EV_DELETE, 0),
	}
	return k.change("kevent delete", ch[:])
}

// zeroTimeout makes kevent return at once. The kernel only reads it.
var zeroTimeout unix.Timespec

// Wait waits up to msec milliseconds (-1: forever, 0: not at all) and fills
// events. EINTR is reported as zero events, and so is ETIMEDOUT, which
// the runtime has seen kevent return on macOS (go.dev/issue/59679).
func (k *Kqueue) Wait(events []event, msec int) (int, error) {
	var ts *unix.Timespec
	switch {
	case msec == 0:
		ts = &zeroTimeout
	case msec > 0:
		t := unix.NsecToTimespec(int64(msec) * 1e6)
		ts = &t
	}
	n, err := unix.Kevent(k.kq, nil, kevents(events), ts)
	if err == unix.EINTR || err == unix.ETIMEDOUT {
		return 0, nil
	}
	if err != nil {
		return 0, os.NewSyscallError("kevent", err)
	}
	return n, nil
}

// Wake makes a Wait in progress return, by triggering the EVFILT_USER
// event (NOTE_TRIGGER). The Wait that reports it consumes it (EV_CLEAR).
func (k *Kqueue) Wake() error {
	ch := [1]event{{Ident: wakeIdent, Filter: unix.EVFILT_USER, Fflags: unix.NOTE_TRIGGER}}
	ch[0].udata[0] = wakeToken
	return k.change("kevent trigger EVFILT_USER", ch[:])
}

// ResetWake does nothing: reporting the wake-up event reset it (EV_CLEAR).
func (k *Kqueue) ResetWake() {}

// Close closes the kqueue.
func (k *Kqueue) Close() error {
	if err := unix.Close(k.kq); err != nil {
		return os.NewSyscallError("close kqueue", err)
	}
	return nil
}
