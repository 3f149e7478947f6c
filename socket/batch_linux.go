package socket

import (
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// On Linux a batch is one recvmmsg(2) or sendmmsg(2): a socket with many
// datagrams waiting (a server answering many peers) moves them with one
// system call instead of one each.

// Batch is the scratch of RecvMsgs and SendMsgs: the message headers,
// addresses and control buffers of up to MaxBatch datagrams (8 KiB), made
// once by the caller and reused by one goroutine at a time.
type Batch struct {
	hdrs  [MaxBatch]unix.Mmsghdr
	iovs  [MaxBatch]unix.Iovec
	names [MaxBatch]unix.RawSockaddrAny
	oob   [MaxBatch][64]byte
}

// RecvMsgs receives up to len(msgs) datagrams (at most MaxBatch), as many
// as are waiting, with one recvmmsg: it returns how many it received
// (msgs[:n] filled as Msg says), or EAGAIN when none was waiting. A
// datagram that does not fit its Buf is truncated, as RecvFrom's.
func (s *Socket) RecvMsgs(b *Batch, msgs []Msg) (int, error) {
	if s.fd < 0 {
		return 0, net.ErrClosed
	}
	k := min(len(msgs), MaxBatch)
	if k == 0 {
		return 0, nil
	}
	for i := range k {
		h := &b.hdrs[i]
		h.Len = 0
		iov := &b.iovs[i]
		iov.Base = nil
		if p := msgs[i].Buf; len(p) > 0 {
			iov.Base = &p[0]
		}
		iov.SetLen(len(msgs[i].Buf))
		h.Hdr = unix.Msghdr{Name: (*byte)(unsafe.Pointer(&b.names[i])), Namelen: unix.SizeofSockaddrAny, Iov: iov, Iovlen: 1,
			Control: &b.oob[i][0]}
		h.Hdr.SetControllen(len(b.oob[i]))
	}
	for {
		if f := injected(OpRecvFrom, s.fd); f != nil {
			if f == unix.EINTR {
				continue
			}
			return 0, f
		}
		n, err := s.mmsg(unix.SYS_RECVMMSG, &b.hdrs[0], k, unix.MSG_TRUNC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		for i := range n {
			h := &b.hdrs[i]
			m := &msgs[i]
			m.N = int(h.Len)
			m.Addr = addrPortFromRaw(&b.names[i])
			m.Drops, m.DropsOK = rxqOverflow(b.oob[i][:h.Hdr.Controllen])
		}
		return int(n), nil
	}
}

// SendMsgs sends msgs (at most MaxBatch) in order with sendmmsg, each
// Buf to its Addr, and returns how many the kernel took. When it took
// fewer than len(msgs), err says why it refused msgs[n]: EAGAIN (its
// buffer is full: send the rest later), or an error of that datagram
// alone (the caller may drop it and send on from msgs[n+1]). An invalid
// Addr fails that datagram, with nothing after it sent.
func (s *Socket) SendMsgs(b *Batch, msgs []Msg) (int, error) {
	if s.fd < 0 {
		return 0, net.ErrClosed
	}
	k := min(len(msgs), MaxBatch)
	for i := range k {
		l, err := rawSockaddr(s.domain, msgs[i].Addr, &b.names[i])
		if err != nil {
			if i == 0 {
				return 0, err
			}
			k = i // send those before it; the next call reports it
			break
		}
		iov := &b.iovs[i]
		iov.Base = nil
		if p := msgs[i].Buf; len(p) > 0 {
			iov.Base = &p[0]
		}
		iov.SetLen(len(msgs[i].Buf))
		b.hdrs[i] = unix.Mmsghdr{Hdr: unix.Msghdr{Name: (*byte)(unsafe.Pointer(&b.names[i])), Namelen: l, Iov: iov, Iovlen: 1}}
	}
	if k == 0 {
		return 0, nil
	}
	for {
		if f := injected(OpSendTo, s.fd); f != nil {
			if f == unix.EINTR {
				continue
			}
			return 0, f
		}
		n, err := s.mmsg(unix.SYS_SENDMMSG, &b.hdrs[0], k, sendFlags)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}
