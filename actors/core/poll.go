package core

import (
	"errors"
	"os"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

func hasDir(op messages.PollOp, d poller.Direction) bool {
	switch op {
	case messages.PollOp_POLL_OP_READ:
		return d == poller.Readable
	case messages.PollOp_POLL_OP_WRITE:
		return d == poller.Writable
	}
	return op == messages.PollOp_POLL_OP_READ_WRITE
}

// poll answers at once when the socket is already ready (or closed, or the
// request is invalid) and otherwise parks the request until readiness,
// its timeout, a cancel or close.
func (c *Core) poll(cmd *messages.Poll, reply Replier) {
	if c.closed {
		reply.Reply(messages.Rejection(cmd, messages.IOStatus_IO_STATUS_CLOSED))
		return
	}
	if c.sock == nil {
		reply.Reply(&messages.PollResult{Status: messages.PollStatus_POLL_STATUS_ERROR, Error: c.notConnected("poll")})
		return
	}
	op := cmd.GetOp()
	if op < messages.PollOp_POLL_OP_READ || op > messages.PollOp_POLL_OP_READ_WRITE {
		reply.Reply(messages.Rejection(cmd, messages.IOStatus_IO_STATUS_INVALID_ARGUMENT))
		return
	}
	// Ask for readiness before looking, so an edge between the look and
	// parking the request is not lost.
	if hasDir(op, poller.Readable) {
		c.Want(poller.Readable)
	}
	if hasDir(op, poller.Writable) {
		c.Want(poller.Writable)
	}
	if res, ok := c.check(op); ok {
		reply.Reply(res)
		c.UpdateWants()
		return
	}
	if c.polls == nil {
		c.polls = NewQueue(c, c.answerPoll)
	}
	c.polls.Push(op, reply, Timeout(cmd.GetTimeoutMs()))
}

// answerPoll answers a poll that ends unserved: timed out, refused,
// withdrawn, or the socket closed.
func (c *Core) answerPoll(_ *messages.PollOp, reply Replier, err error) {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		reply.Reply(&messages.PollResult{Status: messages.PollStatus_POLL_STATUS_TIMEOUT})
	case errors.Is(err, socket.ErrTooManyPending), errors.Is(err, socket.ErrPolling):
		// Refused, or the poller failed: the status says which (and names
		// the poller).
		reply.Reply(&messages.PollResult{Status: messages.PollStatus_POLL_STATUS_ERROR, Error: c.Status("poll", err)})
	default:
		code, _ := messages.Classify(err)
		reply.Reply(messages.Rejection(&messages.Poll{}, code))
	}
}

// readyPolls answers the polls that readiness in d may complete: each
// one for d is checked, not only the oldest.
func (c *Core) readyPolls(d poller.Direction) {
	q := c.polls
	for j := 0; j < q.Len(); {
		if op := q.items[q.head+j].req; hasDir(op, d) {
			if res, ok := c.check(op); ok {
				q.replyAt(j, res)
				continue
			}
		}
		j++
	}
}

// check looks at the socket's readiness now, with coro::net's meaning:
// event when ready for op; error when the socket has an error; closed when
// the peer hung up and nothing is left to read. ok is false when the socket
// is not ready.
func (c *Core) check(op messages.PollOp) (*messages.PollResult, bool) {
	if b, ok := c.proto.(Buffered); ok && hasDir(op, poller.Readable) && b.Buffered() {
		return &messages.PollResult{Status: messages.PollStatus_POLL_STATUS_EVENT}, true
	}
	var events int16
	if hasDir(op, poller.Readable) {
		events |= socket.PollIn | socket.PollRDHup
	}
	if hasDir(op, poller.Writable) {
		events |= socket.PollOut
	}
	rev, err := c.sock.PollNow(events)
	if err != nil {
		return &messages.PollResult{
			Status: messages.PollStatus_POLL_STATUS_ERROR,
			Error:  c.Status("poll", err),
		}, true
	}
	hup := rev&(socket.PollHup|socket.PollRDHup) != 0
	failed := rev&socket.PollErr != 0
	if hasDir(op, poller.Readable) && rev&socket.PollIn != 0 && !failed {
		if !hup {
			return &messages.PollResult{Status: messages.PollStatus_POLL_STATUS_EVENT}, true
		}
		// Hung up: readable only while unread data is left.
		if n, err := c.sock.Available(); err != nil || n > 0 {
			return &messages.PollResult{Status: messages.PollStatus_POLL_STATUS_EVENT}, true
		}
	}
	if hasDir(op, poller.Writable) && rev&socket.PollOut != 0 && rev&socket.PollHup == 0 && !failed {
		return &messages.PollResult{Status: messages.PollStatus_POLL_STATUS_EVENT}, true
	}
	if failed {
		res := &messages.PollResult{Status: messages.PollStatus_POLL_STATUS_ERROR}
		soErr := c.sock.Error()
		if soErr == nil {
			soErr = socket.ErrPolling
		}
		res.Error = c.Status("poll", soErr)
		return res, true
	}
	if hup {
		return &messages.PollResult{Status: messages.PollStatus_POLL_STATUS_CLOSED}, true
	}
	return nil, false
}
