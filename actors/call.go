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

// Request sends msg to pid and returns the future of its answer. To a
// local pid it sends a Call, which carries the future itself: no process
// is registered per request.
//
// For a pid on another node (a system started WithRemote), Request sends
// the bare command with a one-shot reply process as its sender instead.
func Request[T any](s Sender, pid *actor.PID, msg proto.Message) *Future[T] {
	f := NewFuture[T]()
	if as, ok := s.(interface{ ActorSystem() *actor.ActorSystem }); ok && isRemote(as.ActorSystem(), pid) {
		f.remote = requestRemote(as.ActorSystem(), s, pid, msg, f)
		return f
	}
	f.call = Call{Msg: msg, Reply: f}
	s.Send(pid, &f.call)
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
