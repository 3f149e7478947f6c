package socket

import (
	"errors"
	"fmt"
	"strings"
)

// This file is the portable vocabulary of Unix-domain sockets: how an
// address names one, and the credentials of a peer. The system calls are
// in unix_linux.go.

// UnixPrefix marks an address as a Unix-domain socket path, as in
// "unix:/run/app.sock" or, in Linux's abstract namespace, "unix:@app".
const UnixPrefix = "unix:"

// MaxUnixPath is the longest Unix socket path this OS takes, in bytes
// (sun_path less its terminating NUL: 107 on Linux, 103 on macOS and
// FreeBSD). An abstract name counts its leading '@'.
const MaxUnixPath = maxUnixPath

// AutoBinds reports whether AutoBind gives a Unix datagram socket a name
// (Linux's abstract namespace); on the BSDs it does nothing.
const AutoBinds = abstractNames

// UnixPath reports whether addr names a Unix-domain socket ("unix:PATH")
// and returns PATH. A PATH starting with '@' is a name in Linux's abstract
// namespace (no file).
func UnixPath(addr string) (string, bool) {
	if !strings.HasPrefix(addr, UnixPrefix) {
		return "", false
	}
	return addr[len(UnixPrefix):], true
}

// CheckUnixPath returns an *AddrError if path cannot name a Unix socket:
// empty, longer than MaxUnixPath, or holding a NUL byte.
func CheckUnixPath(path string) error {
	switch {
	case path == "" || path == "@":
		return &AddrError{Addr: UnixPrefix + path, Reason: "empty Unix socket path"}
	case len(path) > MaxUnixPath:
		return &AddrError{Addr: UnixPrefix + path, Reason: fmt.Sprintf("Unix socket path of %d bytes: the limit is %d", len(path), MaxUnixPath)}
	case strings.IndexByte(path, 0) >= 0:
		return &AddrError{Addr: UnixPrefix + path, Reason: "NUL byte in a Unix socket path"}
	case IsAbstract(path) && !abstractNames:
		return &AddrError{Addr: UnixPrefix + path, Reason: "the abstract namespace (@name) is Linux's alone"}
	}
	return nil
}

// IsAbstract reports whether a Unix socket path names Linux's abstract
// namespace ('@' first): no file is made or removed for it.
func IsAbstract(path string) bool { return strings.HasPrefix(path, "@") }

// Cred is the identity of the process at the other end of a Unix-domain
// socket, as the kernel recorded it when the socket connected
// (SO_PEERCRED): what a service checks to decide who may talk to it.
type Cred struct {
	// PID is the peer's process id (0 where the OS does not say).
	PID int
	// UID and GID are the peer's user and group ids.
	UID, GID int
}

// String formats c as "pid=1 uid=0 gid=0".
func (c Cred) String() string { return fmt.Sprintf("pid=%d uid=%d gid=%d", c.PID, c.UID, c.GID) }

// PathError is the error of op on the Unix socket at path: an *OpError
// naming the path, unless err is an *AddrError, which names it already.
func PathError(op, network, path string, err error) error {
	var ae *AddrError
	if errors.As(err, &ae) {
		return &OpError{Op: op, Net: network, Err: err}
	}
	return &OpError{Op: op, Net: network, Path: path, Err: err}
}
