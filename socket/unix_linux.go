package socket

import (
	"bufio"
	"net"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file is what Linux adds to Unix-domain sockets: binding to a name
// the kernel picks, the peer's credentials (SO_PEERCRED), datagrams
// addressed by path on the allocation-free raw path, and the test for a
// live socket that does not touch it when it can (/proc/net/unix).

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
		n, alen, err := s.recvFromLen(p, unix.MSG_TRUNC, &rsa)
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

// liveUnix reports whether a socket is bound to path, from the kernel's
// table of Unix sockets (/proc/net/unix) rather than by connecting to it:
// a probe connection would wait in a live listener's backlog and be
// accepted as a client that says nothing. A path the table does not show
// (or a table that cannot be read) is probed: only a refused connect says
// that nobody holds it.
func liveUnix(path string, t Type) bool {
	f, err := os.Open("/proc/net/unix")
	if err != nil {
		return probeUnix(path, t)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		// Num RefCount Protocol Flags Type St Inode Path
		fields := strings.Fields(sc.Text())
		if len(fields) >= 8 && strings.Join(fields[7:], " ") == path {
			return true
		}
	}
	// Not in the table is not proof: it lists the path as its binder wrote
	// it (a relative path, one through a symbolic link) and only this
	// network namespace. Only a refused connect makes the file stale.
	return probeUnix(path, t)
}

// probeUnix connects to path to see whether a socket listens there.
func probeUnix(path string, t Type) bool {
	probe, err := unix.Socket(unix.AF_UNIX, t.sysType()|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return true // cannot tell: do not remove it
	}
	defer unix.Close(probe)
	return unix.Connect(probe, &unix.SockaddrUnix{Name: path}) != unix.ECONNREFUSED
}
