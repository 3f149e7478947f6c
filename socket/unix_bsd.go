//go:build darwin || freebsd

package socket

import (
	"net"

	"golang.org/x/sys/unix"
)

// This file is what the BSDs give Unix-domain sockets, through
// golang.org/x/sys's wrappers: datagrams by path, the peer's credentials
// (LOCAL_PEERCRED; no pid on FreeBSD), and a live socket found by a probe
// connect (there is no /proc/net/unix). Built and vetted in CI, not run.

// AutoBind does nothing on the BSDs: they have no abstract namespace, so
// an unbound Unix datagram socket can send but not be answered.
func (s *Socket) AutoBind() error {
	if s.fd < 0 {
		return s.opError("bind", net.ErrClosed)
	}
	return nil
}

// PeerCred returns the credentials of a connected Unix-domain socket's
// peer (LOCAL_PEERCRED; the pid from LOCAL_PEERPID on macOS, 0 elsewhere).
func (s *Socket) PeerCred() (Cred, error) {
	if s.fd < 0 {
		return Cred{}, s.opError("getsockopt LOCAL_PEERCRED", net.ErrClosed)
	}
	if s.domain != Unix {
		return Cred{}, s.opError("getsockopt LOCAL_PEERCRED", ErrInvalidArgument)
	}
	x, err := unix.GetsockoptXucred(s.fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return Cred{}, s.opError("getsockopt LOCAL_PEERCRED", err)
	}
	c := Cred{UID: int(x.Uid)}
	if x.Ngroups > 0 {
		c.GID = int(x.Groups[0]) // the effective gid
	}
	c.PID = peerPID(s.fd)
	return c, nil
}

// SendToUnix sends one datagram to the Unix socket at path.
func (s *Socket) SendToUnix(p []byte, path string) (int, error) {
	if s.fd < 0 {
		return 0, net.ErrClosed
	}
	if err := CheckUnixPath(path); err != nil {
		return 0, err
	}
	if err := unix.Sendto(s.fd, p, sendFlags, &unix.SockaddrUnix{Name: path}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// RecvFromUnix receives one datagram into p and its sender's path. A
// truncated datagram reports len(p)+1, as RecvFrom does on the BSDs.
func (s *Socket) RecvFromUnix(p []byte) (length int, from string, err error) {
	if s.fd < 0 {
		return 0, "", net.ErrClosed
	}
	n, _, flags, sa, err := unix.Recvmsg(s.fd, p, nil, 0)
	if err != nil {
		return 0, "", err
	}
	if flags&unix.MSG_TRUNC != 0 {
		n = len(p) + 1
	}
	return n, unixName(sa), nil
}

// liveUnix connects to path to see whether a socket listens there.
func liveUnix(path string, t Type) bool {
	probe, err := unix.Socket(unix.AF_UNIX, t.sysType(), 0)
	if err != nil {
		return true // cannot tell: do not remove it
	}
	defer unix.Close(probe)
	_ = unix.SetNonblock(probe, true)
	return unix.Connect(probe, &unix.SockaddrUnix{Name: path}) != unix.ECONNREFUSED
}
