package actors

import "github.com/actornet/actornet/messages"

// PollOp is the readiness a Poll waits for. It is the protobuf enum of the
// Poll message; use these names for it in Go.
type PollOp = messages.PollOp

// The readiness a Poll can wait for.
const (
	PollRead      PollOp = messages.PollOp_POLL_OP_READ
	PollWrite     PollOp = messages.PollOp_POLL_OP_WRITE
	PollReadWrite PollOp = messages.PollOp_POLL_OP_READ_WRITE
)

// PollStatus is the outcome of a Poll (the protobuf enum of PollResult).
type PollStatus = messages.PollStatus

// The outcomes of a Poll: the readiness came, the deadline passed, the
// socket reported an error or a hang-up, it was closed, or the request was
// cancelled (its caller stopped waiting, or the socket closed under it).
const (
	PollEvent     PollStatus = messages.PollStatus_POLL_STATUS_EVENT
	PollTimeout   PollStatus = messages.PollStatus_POLL_STATUS_TIMEOUT
	PollError     PollStatus = messages.PollStatus_POLL_STATUS_ERROR
	PollClosed    PollStatus = messages.PollStatus_POLL_STATUS_CLOSED
	PollCancelled PollStatus = messages.PollStatus_POLL_STATUS_CANCELLED
)

// ShutdownHow selects the directions Shutdown closes (the protobuf enum of
// the Shutdown message).
type ShutdownHow = messages.ShutdownHow

// The directions Shutdown can close, as shutdown(2)'s SHUT_RD, SHUT_WR and
// SHUT_RDWR.
const (
	ShutdownRead  ShutdownHow = messages.ShutdownHow_SHUTDOWN_HOW_READ
	ShutdownWrite ShutdownHow = messages.ShutdownHow_SHUTDOWN_HOW_WRITE
	ShutdownBoth  ShutdownHow = messages.ShutdownHow_SHUTDOWN_HOW_BOTH
)
