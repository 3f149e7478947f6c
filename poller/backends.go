package poller

import (
	"fmt"
	"log"
	"sync/atomic"
)

// This file is the choice of kernel interface: Backend, the Option that
// picks one for New and Spawn, and the fallback, said once, where the
// kernel refuses the one asked for. openBackend is the OS side
// (backends_linux.go, kqueue_bsd.go).

// Backend is a kernel interface a poller waits on.
type Backend uint8

const (
	// BackendDefault is epoll on Linux, kqueue on macOS and FreeBSD.
	BackendDefault Backend = iota
	// BackendEpoll is epoll, edge-triggered, with an eventfd wake-up.
	BackendEpoll
	// BackendIOUring is io_uring readiness (Linux 5.13 or later): a
	// multishot poll request per fd. Where the kernel refuses io_uring
	// (ENOSYS, EPERM from the io_uring_disabled sysctl or seccomp, a
	// kernel too old) a poller asked for it uses epoll, and the process
	// logs so once.
	BackendIOUring
	// BackendKqueue is kqueue (macOS, FreeBSD).
	BackendKqueue
)

// String returns "default", "epoll", "io_uring" or "kqueue", the names
// ParseBackend reads.
func (b Backend) String() string {
	switch b {
	case BackendEpoll:
		return "epoll"
	case BackendIOUring:
		return "io_uring"
	case BackendKqueue:
		return "kqueue"
	}
	return "default"
}

// ParseBackend reads a backend's name: "epoll", "io_uring" or "kqueue";
// "" or "default" is BackendDefault.
func ParseBackend(s string) (Backend, error) {
	switch s {
	case "", "default":
		return BackendDefault, nil
	case "epoll":
		return BackendEpoll, nil
	case "io_uring", "iouring":
		return BackendIOUring, nil
	case "kqueue":
		return BackendKqueue, nil
	}
	return BackendDefault, fmt.Errorf("poller: unknown backend %q (want epoll, io_uring or kqueue)", s)
}

// Option configures New and Spawn.
type Option func(*config)

type config struct {
	backend Backend
}

// WithBackend sets the kernel interface of the poller (BackendDefault if
// not given). A backend the kernel refuses falls back to the default one.
func WithBackend(b Backend) Option { return func(c *config) { c.backend = b } }

func configure(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	return c
}

// fallbackSaid is set once the fallback has been logged: the process says
// it once, however many pollers fall back.
var fallbackSaid atomic.Bool

// logFallback writes the fallback's line; a variable for tests.
var logFallback = func(line string) { log.Print(line) }

// sayFallback logs, once per process, that the pollers use got because the
// kernel refused want with err.
func sayFallback(want, got Backend, err error) {
	if fallbackSaid.CompareAndSwap(false, true) {
		logFallback(fmt.Sprintf("actornet: poller: %v unavailable (%v): using %v", want, err, got))
	}
}
