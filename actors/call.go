package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
)

// Request sends msg to pid and returns the future of its answer. To a
// local pid it sends a Call, which carries the future itself: no process
// is registered per request.
//
// For a pid on another node (a system started WithRemote), Request sends
// the bare command with a one-shot reply process as its sender instead. A
// command that does not fit in one remote message (see MaxRemoteMessage),
// or a Recv, RecvExact or RecvFrom whose answer would not, is not sent:
// its future resolves at once with an error (an OpError naming the
// command's op, wrapping syscall.EMSGSIZE), which would otherwise break
// the link between the nodes for every request crossing it.
func Request[T any](s Sender, pid *actor.PID, msg proto.Message) *Future[T] {
	return RequestInto(s, pid, msg, NewFuture[T](), nil)
}

// RequestInto is Request with the future f, a new one the caller made,
// answered through reply (f itself if nil): a handle that allocates the
// command, its future and its result in one object (reply, which the
// actor recognises and forwards to f) saves allocations per request.
func RequestInto[T any](s Sender, pid *actor.PID, msg proto.Message, f *Future[T], reply core.Replier) *Future[T] {
	if pid == nil || s == nil {
		f.Reply(messages.Rejection(msg, messages.IOStatus_IO_STATUS_INVALID_ARGUMENT)) // a zero handle: nothing to send to
		return f
	}
	if as, ok := s.(interface{ ActorSystem() *actor.ActorSystem }); ok && isRemote(as.ActorSystem(), pid) {
		if err := remoteSizeErr(msg); err != nil {
			var zero T
			f.Complete(zero, err)
			return f
		}
		f.remote = requestRemote(as.ActorSystem(), s, pid, msg, f)
		return f
	}
	if reply == nil {
		reply = f
	}
	f.call = core.Call{Msg: msg, Reply: reply}
	s.Send(pid, &f.call)
	return f
}

// TurnInto runs a local request as a direct turn of the actor whose core
// is c (core.Core.Turn): handle, the actor's own handler of msg, answers
// through reply (nil: f), which resolves f as after RequestInto. Only the
// message is saved: the same handler runs with the same hold of the
// actor. It reports false, having run nothing, when the actor is busy or
// stopped: send the request with RequestInto then.
func TurnInto[T any](c *core.Core, msg proto.Message, f *Future[T], reply core.Replier, handle func()) bool {
	if reply == nil {
		reply = f
	}
	f.call = core.Call{Msg: msg, Reply: reply} // a withdrawal names reply
	return c.Turn(&f.call, handle)
}

// replier is what a local request of f's answers through (f itself,
// or the reply RequestInto was given): a withdrawal names it.
func (f *Future[T]) replier() core.Replier {
	if f.call.Reply != nil {
		return f.call.Reply
	}
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
