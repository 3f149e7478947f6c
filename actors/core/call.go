package core

import (
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// Replier answers one request. Reply is called at most once per request by
// the actor that owns it; implementations ignore later calls. actors.Future
// is one.
type Replier interface {
	Reply(result any)
}

// Call is a request from a local caller: the command and where its answer
// goes. A socket actor treats a Call and a bare command with a Sender (the
// form a remote node uses) alike; the Call form avoids registering a
// future process for every request.
type Call struct {
	Msg   proto.Message
	Reply Replier
}

// Withdrawal tells a socket actor that the caller of a pending request
// stopped waiting (its context ended): the actor answers the request as
// cancelled and drops it.
type Withdrawal struct{ Reply Replier }

// RequestOf splits the current message into a command and its replier: a
// Call, or a protobuf command whose Sender gets the answer. A command sent
// without a Sender gets a replier that drops the answer.
func RequestOf(ctx actor.Context) (proto.Message, Replier, bool) {
	switch m := ctx.Message().(type) {
	case *Call:
		return m.Msg, m.Reply, true
	case proto.Message:
		if s := ctx.Sender(); s != nil {
			return m, replierOf(ctx.ActorSystem(), s), true
		}
		return m, dropReplier{}, true
	}
	return nil, nil, false
}

// pidReplier answers by sending to a PID, local or remote. It holds the
// PID by value so that two repliers for the same sender compare equal: a
// Withdraw from a remote caller finds its request that way.
type pidReplier struct {
	sys       *actor.ActorSystem
	addr, id  string
	requestID uint32
}

func replierOf(sys *actor.ActorSystem, pid *actor.PID) pidReplier {
	return pidReplier{sys: sys, addr: pid.Address, id: pid.Id, requestID: pid.RequestId}
}

func (r pidReplier) Reply(result any) {
	r.sys.Root.Send(&actor.PID{Address: r.addr, Id: r.id, RequestId: r.requestID}, result)
}

type dropReplier struct{}

func (dropReplier) Reply(any) {}

// Discards reports whether r drops its answer: the command came without a
// sender (a push-mode handler's fire-and-forget SendTo), so an actor need
// not build the answer at all.
func Discards(r Replier) bool {
	_, ok := r.(dropReplier)
	return ok
}

// RejectClosed answers a request that reached a stopped socket actor (in
// its mailbox, or as a dead letter): a Call as closed, a withdrawal as
// cancelled (its request was answered already, or is answered now).
func RejectClosed(msg interface{}) {
	switch m := msg.(type) {
	case *Call:
		m.Reply.Reply(messages.Rejection(m.Msg, messages.IOStatus_IO_STATUS_CLOSED))
	case *Withdrawal:
		m.Reply.Reply(&socket.OpError{Op: "cancel", Err: socket.ErrCancelled})
	}
}
