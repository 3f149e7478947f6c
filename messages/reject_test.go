package messages

import (
	"errors"
	"net"
	"testing"

	"google.golang.org/protobuf/proto"
)

// TestRejectionAnswersWithTheCommandsResultType: a failed request is
// answered with the result type its caller waits for.
func TestRejectionAnswersWithTheCommandsResultType(t *testing.T) {
	tests := []struct {
		cmd  proto.Message
		want proto.Message
	}{
		{cmd: &Poll{}, want: &PollResult{}},
		{cmd: &Shutdown{}, want: &Status{}},
		{cmd: &SetBlocking{}, want: &Status{}},
		{cmd: &Close{}, want: &Status{}},
		{cmd: &GetInfo{}, want: &Info{}},
		{cmd: &Connect{}, want: &ConnectResult{}},
		{cmd: &ConnectPeer{}, want: &ConnectResult{}},
		{cmd: &Send{}, want: &SendResult{}},
		{cmd: &Recv{}, want: &RecvResult{}},
		{cmd: &RecvExact{}, want: &RecvResult{}},
		{cmd: &Listen{}, want: &ListenResult{}},
		{cmd: &Accept{}, want: &AcceptResult{}},
		{cmd: &Bind{}, want: &BindResult{}},
		{cmd: &SendTo{}, want: &SendToResult{}},
		{cmd: &RecvFrom{}, want: &RecvFromResult{}},
		{cmd: &Write{Ack: 9}, want: &WriteFailed{}},
		{cmd: &Abort{}, want: &Status{}},
	}
	for _, tt := range tests {
		name := OpName(tt.cmd)
		t.Run(name, func(t *testing.T) {
			got := Rejection(tt.cmd, IOStatus_IO_STATUS_CLOSED)
			if got.ProtoReflect().Descriptor() != tt.want.ProtoReflect().Descriptor() {
				t.Fatalf("Rejection(%s) is a %T; want %T", name, got, tt.want)
			}
			st := statusIn(got)
			if st == nil || st.Op != name || !errors.Is(st.Err(), net.ErrClosed) {
				t.Fatalf("Rejection(%s) status = %v; want closed, op %q", name, st, name)
			}
		})
	}
	if w := Rejection(&Write{Ack: 9}, IOStatus_IO_STATUS_CLOSED).(*WriteFailed); w.Ack != 9 {
		t.Fatalf("WriteFailed ack = %d; want 9", w.Ack)
	}
}

func TestRejectionConnectStatuses(t *testing.T) {
	tests := map[IOStatus]ConnectStatus{
		IOStatus_IO_STATUS_TIMEOUT:            ConnectStatus_CONNECT_STATUS_TIMEOUT,
		IOStatus_IO_STATUS_INVALID_ARGUMENT:   ConnectStatus_CONNECT_STATUS_INVALID_ADDRESS,
		IOStatus_IO_STATUS_CONNECTION_REFUSED: ConnectStatus_CONNECT_STATUS_REFUSED,
		IOStatus_IO_STATUS_CLOSED:             ConnectStatus_CONNECT_STATUS_ERROR,
	}
	for code, want := range tests {
		if got := Rejection(&Connect{}, code).(*ConnectResult).Status; got != want {
			t.Errorf("Rejection(connect, %v) = %v; want %v", code, got, want)
		}
	}
}

// statusIn finds the Status inside any result.
func statusIn(m proto.Message) *Status {
	switch r := m.(type) {
	case *Status:
		return r
	case *PollResult:
		return r.Error
	case *ConnectResult:
		return r.Error
	case interface{ GetStatus() *Status }:
		return r.GetStatus()
	}
	return nil
}
