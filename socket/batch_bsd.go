//go:build darwin || freebsd

package socket

// macOS has neither recvmmsg nor sendmmsg (FreeBSD's are library loops):
// a batch is one RecvMsg or SendTo per datagram.

// Batch is the scratch of RecvMsgs and SendMsgs (nothing here), made once
// by the caller and reused by one goroutine at a time.
type Batch struct{}

// RecvMsgs receives up to len(msgs) datagrams (at most MaxBatch), as many
// as are waiting: it returns how many it received (msgs[:n] filled as Msg
// says), or EAGAIN when none was waiting.
func (s *Socket) RecvMsgs(_ *Batch, msgs []Msg) (int, error) {
	k := min(len(msgs), MaxBatch)
	for i := range k {
		m := &msgs[i]
		n, from, drops, ok, err := s.RecvMsg(m.Buf)
		if err != nil {
			if i > 0 {
				return i, nil
			}
			return 0, err
		}
		m.N, m.Addr, m.Drops, m.DropsOK = n, from, drops, ok
	}
	return k, nil
}

// SendMsgs sends msgs (at most MaxBatch) in order, each Buf to its Addr,
// and returns how many the kernel took; when fewer than len(msgs), err is
// why it refused msgs[n].
func (s *Socket) SendMsgs(_ *Batch, msgs []Msg) (int, error) {
	k := min(len(msgs), MaxBatch)
	for i := range k {
		if _, err := s.SendTo(msgs[i].Buf, msgs[i].Addr); err != nil {
			return i, err
		}
	}
	return k, nil
}
