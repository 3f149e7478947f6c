package socket

import (
	"errors"
	"net"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file is the Linux side of Unix-domain sockets: binding to a path
// (replacing a stale socket file, refusing one a live socket holds),
// connecting, addressing datagrams by path, and the peer's credentials.

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
	if err := unix.Lstat(f.path, &st); err != nil || st.Dev != f.dev || st.Ino != f.ino {
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
	return &UnixFile{path: path, dev: st.Dev, ino: st.Ino}, nil
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
	probe, err := unix.Socket(unix.AF_UNIX, s.typ.sysType()|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, "cannot probe it: " + err.Error()
	}
	defer unix.Close(probe)
	err = unix.Connect(probe, &unix.SockaddrUnix{Name: path})
	if err == unix.ECONNREFUSED {
		return true, ""
	}
	if err == unix.EPROTOTYPE {
		return false, "a socket of another type listens there"
	}
	return false, "a live socket listens there"
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

// AutoBind binds a Unix datagram socket to a name the kernel picks in the
// abstract namespace, so that a peer it sends to can answer.
func (s *Socket) AutoBind() error {
	if s.fd < 0 {
		return s.opError("bind", net.ErrClosed)
	}
	if err := unix.Bind(s.fd, &unix.SockaddrUnix{}); err != nil {
		return s.opError("bind", err)
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
	if u, ok := sa.(*unix.SockaddrUnix); ok {
		return u.Name
	}
	return ""
}

// PeerCred returns the credentials of a connected Unix-domain socket's
// peer (SO_PEERCRED).
func (s *Socket) PeerCred() (Cred, error) {
	if s.fd < 0 {
		return Cred{}, s.opError("getsockopt SO_PEERCRED", net.ErrClosed)
	}
	if s.domain != Unix {
		return Cred{}, s.opError("getsockopt SO_PEERCRED", ErrInvalidArgument)
	}
	u, err := unix.GetsockoptUcred(s.fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return Cred{}, s.opError("getsockopt SO_PEERCRED", err)
	}
	return Cred{PID: int(u.Pid), UID: int(u.Uid), GID: int(u.Gid)}, nil
}

// SendToUnix sends one datagram to the Unix socket at path. Like SendTo it
// returns the bare errno.
func (s *Socket) SendToUnix(p []byte, path string) (int, error) {
	if s.fd < 0 {
		return 0, net.ErrClosed
	}
	if err := CheckUnixPath(path); err != nil {
		return 0, err
	}
	var rsa unix.RawSockaddrAny
	sa := (*unix.RawSockaddrUnix)(unsafe.Pointer(&rsa))
	sa.Family = unix.AF_UNIX
	for i := range len(path) {
		sa.Path[i] = int8(path[i])
	}
	l := uint32(2 + len(path))
	if IsAbstract(path) {
		sa.Path[0] = 0 // abstract: no terminating NUL either
	} else {
		l++
	}
	return s.sendToRaw(p, &rsa, l)
}

// RecvFromUnix receives one datagram into p, as RecvFrom does, and the
// path of its sender ("" for one that did not bind).
func (s *Socket) RecvFromUnix(p []byte) (length int, from string, err error) {
	if s.fd < 0 {
		return 0, "", net.ErrClosed
	}
	var rsa unix.RawSockaddrAny
	for {
		if f := injected(OpRecvFrom, s.fd); f != nil {
			if f == unix.EINTR {
				continue
			}
			return 0, "", f
		}
		n, alen, err := recvFromLen(s.fd, p, unix.MSG_TRUNC, &rsa)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, "", err
		}
		return n, pathFromRaw(&rsa, alen), nil
	}
}

// pathFromRaw decodes the sun_path of a sockaddr the kernel filled in,
// alen bytes long in all.
func pathFromRaw(rsa *unix.RawSockaddrAny, alen uint32) string {
	if rsa.Addr.Family != unix.AF_UNIX || alen <= 2 {
		return ""
	}
	sa := (*unix.RawSockaddrUnix)(unsafe.Pointer(rsa))
	n := min(int(alen)-2, len(sa.Path))
	b := make([]byte, n)
	for i := range n {
		b[i] = byte(sa.Path[i])
	}
	if b[0] == 0 {
		b[0] = '@' // abstract: the name is every byte after the NUL
		return string(b)
	}
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func (s *Socket) pathError(op, path string, err error) error {
	var ae *AddrError
	if errors.As(err, &ae) {
		return &OpError{Op: op, Net: s.Net(), Err: err}
	}
	return &OpError{Op: op, Net: s.Net(), Path: path, Err: err}
}
