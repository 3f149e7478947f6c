package udp

// The send side of a UDP peer: datagrams sent at once when nothing waits,
// queued behind EAGAIN otherwise.

import (
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

func (a *peerActor) send(cmd proto.Message, to dest, data []byte, timeoutMS uint32, reply core.Replier) {
	op := messages.OpName(cmd)
	switch {
	case len(data) > MaxDatagram:
		reply.Reply(sendResult(cmd, a.statusTo(op, to, unix.EMSGSIZE), 0))
		return
	}
	var err error
	switch sock := a.core.Socket(); {
	case to.path != "":
		if err = socket.CheckUnixPath(to.path); err == nil {
			_, err = a.ensureUnix()
		}
	case to.ap.IsValid():
		d := socket.DomainOf(to.ap.Addr())
		if sock != nil && sock.Domain() == socket.IPv6 {
			d = socket.IPv6 // IPv4 peers are reached mapped
		}
		_, err = a.ensureSocket(d)
	case sock == nil:
		_, err = a.ensureSocket(socket.IPv4)
	}
	if err != nil {
		reply.Reply(sendResult(cmd, a.statusTo(op, to, err), 0))
		return
	}
	a.flushSends() // a handler's staged datagrams go first
	if a.sends == nil || a.sends.Len() == 0 {
		// Nothing queued: send at once; only EAGAIN queues the datagram.
		n, err := a.sendNow(to, data)
		if err != unix.EAGAIN {
			if !core.Discards(reply) {
				reply.Reply(sendResult(cmd, a.statusTo(op, to, err), n))
			}
			return
		}
	}
	a.sendQueue().Push(sendReq{cmd: cmd, to: to, data: data}, reply, core.Timeout(timeoutMS))
}

// sendNow makes one send system call toward to, and counts it.
func (a *peerActor) sendNow(to dest, data []byte) (n int, err error) {
	sock := a.core.Socket()
	switch {
	case to.path != "":
		n, err = sock.SendToUnix(data, to.path)
	case to.ap.IsValid():
		n, err = sock.SendTo(data, to.ap)
	default:
		n, err = sock.Write(data)
	}
	a.core.Count(false, n, err)
	return n, err
}

// sendQueue returns the queue of datagrams waiting to be sent, made at
// the first one.
func (a *peerActor) sendQueue() *core.Queue[sendReq] {
	if a.sends == nil {
		a.sends = core.NewQueue(a.core, a.answerSend).WaitsFor(poller.Writable, a.serveSends)
	}
	return a.sends
}

// answerSend answers a send that ends unsent: timed out, withdrawn,
// refused or the socket closed. A handler's datagram has nobody to
// answer: it only gives back its charge.
func (a *peerActor) answerSend(r *sendReq, reply core.Replier, err error) {
	a.queued -= r.charge
	if reply != nil {
		reply.Reply(sendResult(r.cmd, a.statusTo(messages.OpName(r.cmd), r.to, err), 0))
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
	for a.sends.Len() > 0 {
		r := a.sends.Head()
		n, err := a.sendNow(r.to, r.data)
		if err == unix.EAGAIN {
			return
		}
		a.queued -= r.charge
		if a.sends.Discards() {
			a.sends.Reply(nil)
		} else {
			a.sends.Reply(sendResult(r.cmd, a.statusTo(messages.OpName(r.cmd), r.to, err), n))
		}
	}
	if a.closing {
		a.endPush() // Conn.Close waited for the queue to drain
	}
}
