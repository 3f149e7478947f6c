package udp

// Batched I/O of a push-mode peer: datagrams are read a batch at a time
// (recvmmsg on Linux) into an inbox the handler is served from, and what
// the handler sends while a batch is being served goes out together when
// it ends (sendmmsg). A server answering many peers then makes one system
// call for many datagrams each way instead of two per datagram; a
// datagram is never held longer than the batch that read it.

import (
	"net"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/socket"
)

const (
	// recvBatchBytes bounds the read buffers one batch fills: a batch
	// reads at most this many bytes' worth of WithReadSize buffers (8 at
	// the default size, socket.MaxBatch at 16 KiB or less).
	recvBatchBytes = 512 << 10
	// stageMax is the largest datagram a handler's SendTo stages for the
	// batch's send (copied into the stage); a larger one goes out at once.
	stageMax = 8 << 10
	// stageBytes bounds the staged bytes: a fuller stage is sent first.
	stageBytes = 64 << 10
)

// inDgram is a datagram read and not yet handed to the handler.
type inDgram struct {
	b         *readBuf
	n         int
	from      netip.AddrPort
	path      string // a Unix sender's path
	truncated bool
}

// batchIO is what a push-mode peer keeps for batched reads and sends.
type batchIO struct {
	scratch   *socket.Batch
	recvBatch int // datagrams a read asks for: 1 to socket.MaxBatch
	rx        []socket.Msg
	rxBufs    []*readBuf
	inbox     []inDgram // read, not yet handled, from inHead on
	inHead    int
	out       []socket.Msg // the handler's staged sends, in order
	stage     []byte       // their bytes
}

// recvBatchFor is the read batch for buffers of readSize bytes.
func recvBatchFor(readSize int) int {
	return max(1, min(socket.MaxBatch, recvBatchBytes/readSize))
}

// readSome reads up to want datagrams (at most a batch) into the inbox.
// It returns the read's error (EAGAIN when nothing was waiting).
func (a *peerActor) readSome(want int) error {
	sock := a.core.Socket()
	if sock.Domain() == socket.Unix || a.io.recvBatch == 1 {
		return a.readOne(sock)
	}
	if a.io.scratch == nil {
		a.io.scratch = new(socket.Batch)
		a.io.rx = make([]socket.Msg, a.io.recvBatch)
		a.io.rxBufs = make([]*readBuf, a.io.recvBatch)
	}
	k := min(want, a.io.recvBatch)
	for j := range k {
		b := a.getBuf()
		a.io.rxBufs[j] = b
		a.io.rx[j] = socket.Msg{Buf: b.Data}
	}
	n, err := sock.RecvMsgs(a.io.scratch, a.io.rx[:k])
	for j := n; j < k; j++ {
		a.putBuf(a.io.rxBufs[j])
	}
	if err != nil {
		a.core.Count(true, 0, err)
		return err
	}
	for j := range n {
		m := &a.io.rx[j]
		a.core.Count(true, m.N, nil)
		if m.DropsOK {
			a.core.Counters().Drops.Store(uint64(m.Drops))
		}
		a.queueIn(inDgram{b: a.io.rxBufs[j], n: m.N, from: m.Addr})
		a.io.rx[j], a.io.rxBufs[j] = socket.Msg{}, nil
	}
	return nil
}

// readOne reads one datagram into the inbox: a Unix socket's (its sender
// is a path), or where the batch is one datagram.
func (a *peerActor) readOne(sock *socket.Socket) error {
	b := a.getBuf()
	var d inDgram
	var drops uint32
	var dropsOK bool
	var err error
	if sock.Domain() == socket.Unix {
		d.n, d.path, err = sock.RecvFromUnix(b.Data)
	} else {
		d.n, d.from, drops, dropsOK, err = sock.RecvMsg(b.Data)
	}
	a.core.Count(true, d.n, err)
	if err != nil {
		a.putBuf(b)
		return err
	}
	if dropsOK {
		a.core.Counters().Drops.Store(uint64(drops))
	}
	d.b = b
	a.queueIn(d)
	return nil
}

// queueIn adds a datagram read to the inbox and counts it.
func (a *peerActor) queueIn(d inDgram) {
	d.truncated = d.n > len(d.b.Data)
	if d.truncated {
		a.stats.truncated++
	}
	a.stats.received++
	a.io.inbox = append(a.io.inbox, d)
}

// inboxLen is how many datagrams wait for the handler.
func (a *peerActor) inboxLen() int { return len(a.io.inbox) - a.io.inHead }

// deliverNext hands the handler the inbox's oldest datagram.
func (a *peerActor) deliverNext() {
	d := a.io.inbox[a.io.inHead]
	a.io.inbox[a.io.inHead] = inDgram{}
	if a.io.inHead++; a.io.inHead == len(a.io.inbox) {
		a.io.inbox, a.io.inHead = a.io.inbox[:0], 0
	}
	a.fromPath = d.path
	a.lend(d.b, min(d.n, len(d.b.Data)), d.from, d.truncated)
}

// dropInbox gives back the buffers of datagrams never handled (the peer
// stopped).
func (a *peerActor) dropInbox() {
	for i := a.io.inHead; i < len(a.io.inbox); i++ {
		a.putBuf(a.io.inbox[i].b)
		a.io.inbox[i] = inDgram{}
	}
	a.io.inbox, a.io.inHead = a.io.inbox[:0], 0
}

// stageSend stages a handler's datagram for the batch's send; false means
// it goes out the usual way (not inside a batch, a Unix or connected
// destination, too large, or sends already wait in the queue).
func (a *peerActor) stageSend(to dest, p []byte) bool {
	if !a.reading || to.path != "" || !to.ap.IsValid() || len(p) > stageMax || (a.sends != nil && a.sends.Len() > 0) ||
		a.core.Socket().CheckDest(to.ap) != nil {
		return false // the address's error, if any, is SendTo's at once
	}
	if len(a.io.out) == socket.MaxBatch || len(a.io.stage)+len(p) > stageBytes {
		a.flushSends()
		if a.sends != nil && a.sends.Len() > 0 {
			return false // the kernel's buffer filled: queue behind them
		}
	}
	if a.io.scratch == nil {
		a.io.scratch = new(socket.Batch)
	}
	if a.io.stage == nil {
		a.io.stage = make([]byte, 0, stageBytes)
	}
	off := len(a.io.stage)
	a.io.stage = append(a.io.stage, p...)
	a.io.out = append(a.io.out, socket.Msg{Buf: a.io.stage[off:len(a.io.stage):len(a.io.stage)], Addr: to.ap})
	return true
}

// flushSends sends the staged datagrams in order, as many per system call
// as the kernel takes. One the kernel refuses is counted and dropped, as
// the network may drop any datagram; when its buffer is full the rest
// wait in the send queue, in order, within WithSendQueue (beyond it they
// are dropped and counted).
func (a *peerActor) flushSends() {
	out := a.io.out
	if len(out) == 0 {
		return
	}
	sock := a.core.Socket()
	for len(out) > 0 {
		if sock == nil { // closed under them: nothing can send them now
			a.core.Count(false, 0, net.ErrClosed)
			out = out[1:]
			continue
		}
		n, err := sock.SendMsgs(a.io.scratch, out)
		for _, m := range out[:n] {
			a.core.Count(false, len(m.Buf), nil)
		}
		out = out[n:]
		switch {
		case err == unix.EAGAIN:
			for _, m := range out {
				a.queueStaged(m)
			}
			out = nil
		case err != nil:
			a.core.Count(false, 0, err)
			out = out[1:]
		}
	}
	clear(a.io.out)
	a.io.out, a.io.stage = a.io.out[:0], a.io.stage[:0]
}

// queueStaged moves a staged datagram the kernel had no room for to the
// send queue.
func (a *peerActor) queueStaged(m socket.Msg) {
	charge := len(m.Buf) + sendOverhead
	if a.queued+charge > a.push.sendQueue {
		a.core.Count(false, 0, unix.ENOBUFS)
		return
	}
	a.queued += charge
	if !a.sendQueue().Push(sendReq{to: dest{ap: m.Addr}, data: append([]byte(nil), m.Buf...), charge: charge}, nil, 0) {
		a.core.Count(false, 0, unix.ENOBUFS)
	}
}
