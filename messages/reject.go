package messages

import (
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
)

// OpName names the operation of a command for errors: "poll", "recvfrom"...
func OpName(cmd proto.Message) string {
	if cmd == nil {
		return "actornet"
	}
	d := cmd.ProtoReflect().Descriptor()
	if name, ok := opNames.Load(d); ok {
		return name.(string)
	}
	name := strings.ToLower(string(d.Name()))
	opNames.Store(d, name)
	return name
}

// opNames caches OpName by message descriptor: it is asked on data paths.
var opNames sync.Map

// Rejection builds the answer to cmd for a request that failed before it
// could run (socket closed, cancelled, timed out, invalid): the command's own
// result type with the failure in it, so that every request gets exactly one
// answer of the type its caller waits for.
func Rejection(cmd proto.Message, code IOStatus) proto.Message {
	return Refusal(cmd, &Status{Code: code, Op: OpName(cmd)})
}

// Refusal is Rejection with the whole status given: the command's own
// result type, carrying st.
func Refusal(cmd proto.Message, st *Status) proto.Message {
	code := st.GetCode()
	switch c := cmd.(type) {
	case *Spawn:
		return &Spawned{Status: st}
	case *Poll:
		return &PollResult{Status: PollStatusOf(code), Error: st}
	case *GetInfo:
		return &Info{Status: st}
	case *Connect, *ConnectPeer:
		cs := ConnectStatus_CONNECT_STATUS_ERROR
		switch code {
		case IOStatus_IO_STATUS_TIMEOUT:
			cs = ConnectStatus_CONNECT_STATUS_TIMEOUT
		case IOStatus_IO_STATUS_INVALID_ARGUMENT, IOStatus_IO_STATUS_INVALID_ADDRESS:
			cs = ConnectStatus_CONNECT_STATUS_INVALID_ADDRESS
		case IOStatus_IO_STATUS_CONNECTION_REFUSED:
			cs = ConnectStatus_CONNECT_STATUS_REFUSED
		}
		return &ConnectResult{Status: cs, Error: st}
	case *Send:
		return &SendResult{Status: st}
	case *Recv, *RecvExact:
		return &RecvResult{Status: st}
	case *Listen:
		return &ListenResult{Status: st}
	case *Accept:
		return &AcceptResult{Status: st}
	case *Bind:
		return &BindResult{Status: st}
	case *SendTo:
		return &SendToResult{Status: st}
	case *RecvFrom:
		return &RecvFromResult{Status: st}
	case *Write:
		return &WriteFailed{Ack: c.GetAck(), Status: st}
	}
	return st
}

// PollStatusOf maps an I/O status to the poll status a Poll reports for it.
func PollStatusOf(code IOStatus) PollStatus {
	switch code {
	case IOStatus_IO_STATUS_OK:
		return PollStatus_POLL_STATUS_EVENT
	case IOStatus_IO_STATUS_TIMEOUT:
		return PollStatus_POLL_STATUS_TIMEOUT
	case IOStatus_IO_STATUS_CANCELLED:
		return PollStatus_POLL_STATUS_CANCELLED
	case IOStatus_IO_STATUS_CLOSED, IOStatus_IO_STATUS_EOF:
		return PollStatus_POLL_STATUS_CLOSED
	}
	return PollStatus_POLL_STATUS_ERROR
}
