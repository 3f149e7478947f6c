//go:build linux || darwin || freebsd

package socket

import (
	"math"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// This file applies Options to a socket with setsockopt(2), on Linux,
// macOS and FreeBSD.

// Apply sets every option o asks for, stopping at the first failure.
func (s *Socket) Apply(o Options) error {
	type step struct {
		on  bool
		set func() error
	}
	steps := []step{
		{o.ReuseAddr, func() error { return s.SetReuseAddr(true) }},
		{o.ReusePort, func() error { return s.SetReusePort(true) }},
		{o.NoDelay && s.domain != Unix, func() error { return s.SetNoDelay(true) }}, // TCP's alone
		{o.KeepAlive.Enable, func() error { return s.SetKeepAlive(o.KeepAlive) }},
		{o.Linger != nil, func() error { return s.SetLinger(*o.Linger) }},
		{o.RecvBuffer > 0, func() error { return s.SetRecvBuffer(o.RecvBuffer) }},
		{o.SendBuffer > 0, func() error { return s.SetSendBuffer(o.SendBuffer) }},
		{o.Broadcast, func() error { return s.SetBroadcast(true) }},
		{o.V6Only, func() error { return s.SetV6Only(true) }},
	}
	for _, st := range steps {
		if st.on {
			if err := st.set(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Socket) setInt(op string, level, opt, v int) error {
	if s.fd < 0 {
		return s.opError(op, net.ErrClosed)
	}
	if err := sysSetsockoptInt(s.fd, level, opt, v); err != nil {
		return s.opError(op, err)
	}
	return nil
}

func (s *Socket) getInt(op string, level, opt int) (int, error) {
	if s.fd < 0 {
		return 0, s.opError(op, net.ErrClosed)
	}
	v, err := unix.GetsockoptInt(s.fd, level, opt)
	if err != nil {
		return 0, s.opError(op, err)
	}
	return v, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SetReuseAddr sets SO_REUSEADDR.
func (s *Socket) SetReuseAddr(on bool) error {
	return s.setInt("setsockopt SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR, boolInt(on))
}

// SetReusePort sets SO_REUSEPORT.
func (s *Socket) SetReusePort(on bool) error {
	return s.setInt("setsockopt SO_REUSEPORT", unix.SOL_SOCKET, unix.SO_REUSEPORT, boolInt(on))
}

// SetNoDelay sets TCP_NODELAY.
func (s *Socket) SetNoDelay(on bool) error {
	return s.setInt("setsockopt TCP_NODELAY", unix.IPPROTO_TCP, unix.TCP_NODELAY, boolInt(on))
}

// NoDelay reports TCP_NODELAY.
func (s *Socket) NoDelay() (bool, error) {
	v, err := s.getInt("getsockopt TCP_NODELAY", unix.IPPROTO_TCP, unix.TCP_NODELAY)
	return v != 0, err
}

// SetKeepAlive sets SO_KEEPALIVE and, where non-zero, its timings (whole
// seconds, at least one).
func (s *Socket) SetKeepAlive(k KeepAlive) error {
	if err := s.setInt("setsockopt SO_KEEPALIVE", unix.SOL_SOCKET, unix.SO_KEEPALIVE, boolInt(k.Enable)); err != nil || !k.Enable {
		return err
	}
	secs := func(d time.Duration) int { return max(1, int((d+time.Second-1)/time.Second)) }
	if k.Idle > 0 {
		if err := s.setInt("setsockopt "+tcpKeepIdleName, unix.IPPROTO_TCP, tcpKeepIdle, secs(k.Idle)); err != nil {
			return err
		}
	}
	if k.Interval > 0 {
		if err := s.setInt("setsockopt TCP_KEEPINTVL", unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, secs(k.Interval)); err != nil {
			return err
		}
	}
	if k.Count > 0 {
		return s.setInt("setsockopt TCP_KEEPCNT", unix.IPPROTO_TCP, unix.TCP_KEEPCNT, k.Count)
	}
	return nil
}

// KeepAliveEnabled reports SO_KEEPALIVE.
func (s *Socket) KeepAliveEnabled() (bool, error) {
	v, err := s.getInt("getsockopt SO_KEEPALIVE", unix.SOL_SOCKET, unix.SO_KEEPALIVE)
	return v != 0, err
}

// SetLinger sets SO_LINGER on with the given time, in whole seconds (the
// kernel's unit): 0, or from 1s to math.MaxInt32 seconds; a fraction of a
// second is dropped. Zero makes Close send RST and drop unsent data: an
// abortive close. Less than a second but more than zero is refused, as
// it would abort where it asked to wait.
func (s *Socket) SetLinger(d time.Duration) error {
	if s.fd < 0 {
		return s.opError("setsockopt SO_LINGER", net.ErrClosed)
	}
	if d < 0 || (d > 0 && d < time.Second) || d/time.Second > math.MaxInt32 {
		return s.opError("setsockopt SO_LINGER", ErrInvalidArgument) // the kernel's is an int of seconds
	}
	l := unix.Linger{Onoff: 1, Linger: int32(d / time.Second)}
	if err := unix.SetsockoptLinger(s.fd, unix.SOL_SOCKET, unix.SO_LINGER, &l); err != nil {
		return s.opError("setsockopt SO_LINGER", err)
	}
	s.lingers = l.Linger > 0
	return nil
}

// SetRecvBuffer sets SO_RCVBUF.
func (s *Socket) SetRecvBuffer(n int) error {
	if n <= 0 {
		return s.opError("setsockopt SO_RCVBUF", ErrInvalidArgument)
	}
	return s.setInt("setsockopt SO_RCVBUF", unix.SOL_SOCKET, unix.SO_RCVBUF, n)
}

// RecvBuffer reports SO_RCVBUF (as the kernel holds it: Linux doubles it).
func (s *Socket) RecvBuffer() (int, error) {
	return s.getInt("getsockopt SO_RCVBUF", unix.SOL_SOCKET, unix.SO_RCVBUF)
}

// SetSendBuffer sets SO_SNDBUF.
func (s *Socket) SetSendBuffer(n int) error {
	if n <= 0 {
		return s.opError("setsockopt SO_SNDBUF", ErrInvalidArgument)
	}
	return s.setInt("setsockopt SO_SNDBUF", unix.SOL_SOCKET, unix.SO_SNDBUF, n)
}

// SendBuffer reports SO_SNDBUF (as the kernel holds it: Linux doubles it).
func (s *Socket) SendBuffer() (int, error) {
	return s.getInt("getsockopt SO_SNDBUF", unix.SOL_SOCKET, unix.SO_SNDBUF)
}

// SetBroadcast sets SO_BROADCAST.
func (s *Socket) SetBroadcast(on bool) error {
	return s.setInt("setsockopt SO_BROADCAST", unix.SOL_SOCKET, unix.SO_BROADCAST, boolInt(on))
}

// SetV6Only sets IPV6_V6ONLY; only IPv6 sockets have it.
func (s *Socket) SetV6Only(on bool) error {
	if s.domain != IPv6 {
		return s.opError("setsockopt IPV6_V6ONLY", ErrInvalidArgument)
	}
	return s.setInt("setsockopt IPV6_V6ONLY", unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, boolInt(on))
}

// V6Only reports IPV6_V6ONLY.
func (s *Socket) V6Only() (bool, error) {
	v, err := s.getInt("getsockopt IPV6_V6ONLY", unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
	return v != 0, err
}
