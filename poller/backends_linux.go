package poller

import (
	"errors"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// uringRefusal is the kernel's refusal of io_uring, once seen: later
// pollers asked for io_uring go to epoll at once.
var uringRefusal atomic.Pointer[error]

// openBackend opens the kernel instance of kind on Linux (epoll unless
// io_uring is asked for and the kernel takes it; kqueue, asked for, is
// said to be epoll, as epoll asked for on BSD is) and returns it with the
// kind it is.
func openBackend(kind Backend) (backend, Backend, error) {
	if kind == BackendKqueue {
		sayFallback(kind, BackendEpoll, errors.New("not on this OS"))
	}
	if kind == BackendIOUring {
		u, err := openURing()
		if err == nil {
			return u, BackendIOUring, nil
		}
		if !uringRefused(err) {
			return nil, BackendIOUring, err
		}
		sayFallback(BackendIOUring, BackendEpoll, err)
	}
	e, err := NewEpoll()
	if err != nil {
		return nil, BackendEpoll, err
	}
	return e, BackendEpoll, nil
}

// openURing is NewURing unless the kernel has refused io_uring before.
func openURing() (*URing, error) {
	if e := uringRefusal.Load(); e != nil {
		return nil, *e
	}
	u, err := NewURing()
	if err != nil && uringRefused(err) {
		uringRefusal.CompareAndSwap(nil, &err)
	}
	return u, err
}

// uringRefused reports whether err is the kernel refusing io_uring rather
// than a shortage (EMFILE, ENOMEM), which is returned as it is.
func uringRefused(err error) bool {
	for _, e := range []error{unix.ENOSYS, unix.EPERM, unix.EACCES, unix.EINVAL, unix.EOPNOTSUPP, errURingTooOld} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
