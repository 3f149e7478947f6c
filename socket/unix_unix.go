//go:build linux || darwin || freebsd

package socket

import (
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// This file is the Unix-domain sockets of Linux and the BSDs: binding to a
// path (replacing a stale socket file, refusing one a live socket holds)
// and connecting. Datagrams addressed by path, the peer's credentials and
// the test for a live socket are per OS (unix_linux.go, unix_bsd.go).

// UnixFile is the socket file a bind made, removed by Remove only while it
// is still that file (not one another process made at the same path
// since).
type UnixFile struct {
	path     string
	dev, ino uint64
}

// Remove removes the socket file if it is still the one the bind made; a
// nil UnixFile (an abstract name, or no bind) removes nothing.
func (f *UnixFile) Remove() error {
	if f == nil {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Lstat(f.path, &st); err != nil || uint64(st.Dev) != f.dev || uint64(st.Ino) != f.ino {
		return nil // gone, or replaced by someone else's
	}
	if err := unix.Unlink(f.path); err != nil && err != unix.ENOENT {
		return &OpError{Op: "unlink", Net: "unix", Path: f.path, Err: os.NewSyscallError("unlink", err)}
	}
	return nil
}

// BindUnix binds a Unix-domain socket to path ('@' first: Linux's abstract
// namespace). A socket file left at path by a socket nobody listens on
// any more (a process that died) is replaced; one a live socket holds is
// refused with EADDRINUSE, as is a path that is not a socket file. It
// returns the file it made (nil for an abstract name), for the owner to
// remove when it closes.
func (s *Socket) BindUnix(path string) (*UnixFile, error) {
	if s.fd < 0 {
		return nil, s.pathError("bind", path, net.ErrClosed)
	}
	if s.domain != Unix {
		return nil, s.pathError("bind", path, ErrInvalidAddress)
	}
	if err := CheckUnixPath(path); err != nil {
		return nil, s.pathError("bind", path, err)
	}
	bind := func() error {
		return errOr(injected(OpBind, s.fd), func() error { return unix.Bind(s.fd, &unix.SockaddrUnix{Name: path}) })
	}
	err := bind()
	if err == unix.EADDRINUSE && !IsAbstract(path) {
		if stale, why := s.staleFile(path); stale {
			if uerr := unix.Unlink(path); uerr != nil && uerr != unix.ENOENT {
				return nil, s.pathError("bind", path, os.NewSyscallError("unlink stale socket file", uerr))
			}
			err = bind()
		} else {
			return nil, s.pathError("bind", path, &ReasonError{Err: unix.EADDRINUSE, Reason: why})
		}
	}
	if err != nil {
		return nil, s.pathError("bind", path, err)
	}
	if IsAbstract(path) {
		return nil, nil
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return nil, nil // removed meanwhile: nothing of ours to remove later
	}
	return &UnixFile{path: path, dev: uint64(st.Dev), ino: uint64(st.Ino)}, nil
}

// staleFile reports whether path is a socket file no live socket holds:
// a connect to it is refused. Otherwise it says why not.
func (s *Socket) staleFile(path string) (bool, string) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return false, "cannot stat it: " + err.Error()
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return false, "a file that is not a socket is there"
	}
	return !liveUnix(path, s.typ), "a live socket listens there"
}

// ConnectUnix connects a Unix-domain socket to path. A stream connect
// completes at once or fails (EAGAIN: the listener's backlog is full).
func (s *Socket) ConnectUnix(path string) error {
	if s.fd < 0 {
		return s.pathError("connect", path, net.ErrClosed)
	}
	if s.domain != Unix {
		return s.pathError("connect", path, ErrInvalidAddress)
	}
	if err := CheckUnixPath(path); err != nil {
		return s.pathError("connect", path, err)
	}
	if err := errOr(injected(OpConnect, s.fd), func() error { return unix.Connect(s.fd, &unix.SockaddrUnix{Name: path}) }); err != nil {
		return s.pathError("connect", path, err)
	}
	return nil
}

// LocalPath returns the path a Unix-domain socket is bound to ("@name" for
// an abstract one), "" if none.
func (s *Socket) LocalPath() (string, error) {
	if s.fd < 0 {
		return "", s.opError("getsockname", net.ErrClosed)
	}
	sa, err := unix.Getsockname(s.fd)
	if err != nil {
		return "", s.opError("getsockname", err)
	}
	return unixName(sa), nil
}

// RemotePath returns the path of a connected Unix-domain socket's peer,
// "" if it has none (a client that did not bind).
func (s *Socket) RemotePath() (string, error) {
	if s.fd < 0 {
		return "", s.opError("getpeername", net.ErrClosed)
	}
	sa, err := unix.Getpeername(s.fd)
	if err != nil {
		return "", s.opError("getpeername", err)
	}
	return unixName(sa), nil
}

func unixName(sa unix.Sockaddr) string {
	if u, ok := sa.(*unix.SockaddrUnix); ok && u.Name != "@" { // "@" alone: unnamed
		return u.Name
	}
	return ""
}

func (s *Socket) pathError(op, path string, err error) error {
	return PathError(op, s.Net(), path, err)
}
