package udp

// The send side of a UDP peer: datagrams sent at once when nothing waits,
// queued behind EAGAIN otherwise.

import (
	"net/netip"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

func (a *peerActor) send(cmd proto.Message, to netip.AddrPort, data []byte, timeoutMS uint32, reply actors.Replier) {
	op := messages.OpName(cmd)
	switch {
	case len(data) > MaxDatagram:
		reply.Reply(sendResult(cmd, a.status(op, to, unix.EMSGSIZE), 0))
		return
	}
	d := socket.IPv4
	if to.IsValid() {
		d = socket.DomainOf(to.Addr())
		if sock := a.core.Socket(); sock != nil && sock.Domain() == socket.IPv6 {
			d = socket.IPv6 // IPv4 peers are reached mapped
		}
	} else if sock := a.core.Socket(); sock != nil {
		d = sock.Domain()
	}
	if _, err := a.ensureSocket(d); err != nil {
		reply.Reply(sendResult(cmd, a.status(op, to, err), 0))
		return
	}
	if len(a.sends) == 0 {
		// Nothing queued: send at once; only EAGAIN queues the datagram.
		sock := a.core.Socket()
		var n int
		var err error
		if to.IsValid() {
			n, err = sock.SendTo(data, to)
		} else {
			n, err = sock.Write(data)
		}
		a.core.Count(false, n, err)
		if err != unix.EAGAIN {
			if !actors.Discards(reply) {
				reply.Reply(sendResult(cmd, a.status(op, to, err), n))
			}
			return
		}
	}
	if len(a.sends) >= actors.MaxPending {
		reply.Reply(sendResult(cmd, a.status(op, to, socket.ErrTooManyPending), 0))
		return
	}
	r := &sendReq{id: a.core.NextID(), cmd: cmd, to: to, data: data, reply: reply}
	a.sends = append(a.sends, r)
	if len(a.sends) == 1 {
		a.core.Want(poller.Writable)
		a.serveSends()
	}
	if len(a.sends) > 0 && a.sends[len(a.sends)-1] == r && timeoutMS > 0 {
		r.timer = a.core.After(actors.Timeout(timeoutMS), r.id)
	}
}

func sendResult(cmd proto.Message, st *messages.Status, n int) proto.Message {
	if _, ok := cmd.(*messages.Send); ok {
		return &messages.SendResult{Status: st, BytesSent: uint64(n)}
	}
	return &messages.SendToResult{Status: st, BytesSent: uint64(n)}
}

// serveSends sends the queued datagrams in order until the kernel's buffer
// is full; a datagram's error answers that datagram only (a handler's
// datagram has nobody to answer: the error is only counted).
func (a *peerActor) serveSends() {
	sock := a.core.Socket()
	for len(a.sends) > 0 {
		r := a.sends[0]
		var n int
		var err error
		if r.to.IsValid() {
			n, err = sock.SendTo(r.data, r.to)
		} else {
			n, err = sock.Write(r.data)
		}
		a.core.Count(false, n, err)
		if err == unix.EAGAIN {
			return
		}
		actors.StopTimer(r.timer)
		a.sends[0] = nil
		a.sends = a.sends[1:]
		a.queued -= r.charge
		if r.reply != nil && !actors.Discards(r.reply) {
			r.reply.Reply(sendResult(r.cmd, a.status(messages.OpName(r.cmd), r.to, err), n))
		}
	}
	if a.closing {
		a.endPush() // Conn.Close waited for the queue to drain
	}
}
