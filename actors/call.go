package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// Call is a request from a local caller: the command and where its answer
// goes. A socket actor treats a Call and a bare command with a Sender (the
// form a remote node uses) alike; the Call form avoids registering a
// future process for every request.
type Call struct {
	Msg   proto.Message
	Reply Replier
}

// Request sends msg to pid and returns the future of its answer. The Call
// it sends carries a Go pointer, so pid must live in this process; a
// socket actor on another node takes the bare command with a sender PID
// (Proto.Actor's RequestFuture) and answers that PID the same way.
func Request[T any](s Sender, pid *actor.PID, msg proto.Message) *Future[T] {
	f := NewFuture[T]()
	s.Send(pid, &Call{Msg: msg, Reply: f})
	return f
}

// Invalid returns the already-resolved future of a request refused before
// it was sent (a negative timeout, a size out of range): cmd's own result
// type with IO_STATUS_INVALID_ARGUMENT, as the actor would have answered.
func Invalid[T any](cmd proto.Message) *Future[T] {
	f := NewFuture[T]()
	f.Reply(messages.Rejection(cmd, messages.IOStatus_IO_STATUS_INVALID_ARGUMENT))
	return f
}

// RequestOf splits the current message into a command and its replier: a
// Call, or a protobuf command whose Sender gets the answer. A command sent
// without a Sender gets a replier that drops the answer.
func RequestOf(ctx actor.Context) (proto.Message, Replier, bool) {
	switch m := ctx.Message().(type) {
	case *Call:
		return m.Msg, m.Reply, true
	case proto.Message:
		if s := ctx.Sender(); s != nil {
			return m, pidReplier{sys: ctx.ActorSystem(), pid: s}, true
		}
		return m, dropReplier{}, true
	}
	return nil, nil, false
}

// pidReplier answers by sending to a PID, local or remote.
type pidReplier struct {
	sys *actor.ActorSystem
	pid *actor.PID
}

func (r pidReplier) Reply(result any) { r.sys.Root.Send(r.pid, result) }

type dropReplier struct{}

func (dropReplier) Reply(any) {}

// rejectClosed answers a request that reached a stopped socket actor (in
// its mailbox, or as a dead letter): a Call as closed, a withdrawal as
// cancelled (its request was answered already, or is answered now).
func rejectClosed(msg interface{}) {
	switch m := msg.(type) {
	case *Call:
		m.Reply.Reply(messages.Rejection(m.Msg, messages.IOStatus_IO_STATUS_CLOSED))
	case *cancelRequest:
		m.reply.Reply(&socket.OpError{Op: "cancel", Err: socket.ErrCancelled})
	}
}
