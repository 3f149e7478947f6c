package tcp

import (
	"context"
	"sync"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
)

// sendCall, recvCall and recvExactCall hold a request, its future and its
// result in one allocation: the client actor answers a local request in
// the result it holds (headRecvResult, headSendResult).
type sendCall struct {
	f   actors.Future[*messages.SendResult]
	cmd messages.Send
	res messages.SendResult
}

func (r *sendCall) Reply(res any) { r.f.Reply(res) }

type recvCall struct {
	f   actors.Future[*messages.RecvResult]
	cmd messages.Recv
	heldRecv
}

type recvExactCall struct {
	f   actors.Future[*messages.RecvResult]
	cmd messages.RecvExact
	heldRecv
}

// heldRecv is a receive's result and the future it resolves.
type heldRecv struct {
	to  *actors.Future[*messages.RecvResult]
	res messages.RecvResult
}

func (r *heldRecv) Reply(res any) { r.to.Reply(res) }

// The blocking calls (Send, Recv, RecvExact) take their call from a pool
// and give it back when nothing can reach it any more: the answer was a
// success (a failure's error may point into the result); actors.Reusable
// says so of the future (resolved by its answer, after which the actor
// holds nothing of the request; a local request; no withdrawal on its
// way); and the client's actor, NewClient's, is between turns (a handler
// that panics after answering gets its request answered again, as closed,
// by the mailbox: not a call already serving another request). The async
// calls hand their future to the caller, so theirs are new each time. A
// call is some 200-300 bytes: two of a round trip's three allocations,
// which a client of 100 connections paid for in collections (perf:
// mallocgc and the collector's marking, 0.7 µs of 20 a round trip).
var (
	sendCalls      = sync.Pool{New: func() any { return new(sendCall) }}
	recvCalls      = sync.Pool{New: func() any { return new(recvCall) }}
	recvExactCalls = sync.Pool{New: func() any { return new(recvExactCall) }}
)

// recycle gives call, a blocking call of c whose future is f and which
// ended with err within ctx, back to pool if nothing can reach it any
// more (above).
func recycle[C, T any](ctx context.Context, c *Client, pool *sync.Pool, call *C, f *actors.Future[T], err error) {
	if err == nil && actors.Reusable(ctx, f) && c.local != nil && !c.local.core.InTurn() {
		var zero C
		*call = zero
		pool.Put(call)
	}
}
