package messages

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// allTypes is every message type actornet defines, in a fixed order.
func allTypes() []protoreflect.MessageType {
	var out []protoreflect.MessageType
	for _, fd := range []protoreflect.FileDescriptor{
		File_status_proto, File_socket_proto, File_tcp_proto, File_udp_proto, File_node_proto,
	} {
		msgs := fd.Messages()
		for i := 0; i < msgs.Len(); i++ {
			mt, err := protoregistry.GlobalTypes.FindMessageByName(msgs.Get(i).FullName())
			if err == nil {
				out = append(out, mt)
			}
		}
	}
	return out
}

// FuzzMessageDecode decodes arbitrary bytes as each actornet message type,
// as a node does with what another node sends, and runs every helper that
// interprets a decoded message: none may panic, and what decodes must
// re-encode to an equal message.
func FuzzMessageDecode(f *testing.F) {
	types := allTypes()
	if len(types) < 40 {
		f.Fatalf("found %d message types; the list of files is out of date", len(types))
	}
	seeds := []proto.Message{
		&Connect{HostPort: "127.0.0.1:80", Remote: &Endpoint{Ip: []byte{127, 0, 0, 1}, Port: 80}, Options: &Options{NoDelay: true, KeepaliveIdleS: 30}},
		&Recv{Max: 1 << 20, TimeoutMs: 10},
		&SendTo{Peer: &Endpoint{Ip: make([]byte, 16), Port: 65535}, Data: []byte("x")},
		&Status{Code: IOStatus_IO_STATUS_NATIVE, Errno: 104, Op: "read"},
		&PollResult{Status: PollStatus_POLL_STATUS_ERROR, Error: &Status{Errno: 9}},
		&Ref{Address: "127.0.0.1:8090", Id: "$1"},
	}
	for i, mt := range types {
		f.Add(uint8(i), []byte{})
		for _, s := range seeds {
			if s.ProtoReflect().Type() == mt {
				b, _ := proto.Marshal(s)
				f.Add(uint8(i), b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		mt := types[int(which)%len(types)]
		m := mt.New().Interface()
		if err := proto.Unmarshal(data, m); err != nil {
			return
		}
		interpret(m)
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatalf("%T decoded but does not encode: %v", m, err)
		}
		again := mt.New().Interface()
		if err := proto.Unmarshal(b, again); err != nil || !proto.Equal(m, again) {
			t.Fatalf("%T does not survive a round trip: %v", m, err)
		}
	})
}

// interpret runs the helpers a socket actor or a handle applies to a
// decoded message.
func interpret(m proto.Message) {
	_ = OpName(m)
	for code := range IOStatus_name {
		_ = Rejection(m, IOStatus(code))
		_ = PollStatusOf(IOStatus(code))
	}
	if r, ok := m.(interface{ GetStatus() *Status }); ok {
		_ = r.GetStatus().Err()
	}
	switch m := m.(type) {
	case *Endpoint:
		_, _ = m.AddrPort()
	case *Status:
		_ = m.Err()
	case *PollResult:
		_ = m.Err()
	case *Options:
		_ = m.SocketOptions()
	case *Ref:
		_ = m.PID()
	case *Connect:
		_, _ = m.GetRemote().AddrPort()
		_ = m.GetOptions().SocketOptions()
	case *SendTo:
		_, _ = m.GetPeer().AddrPort()
	case *Bind:
		_, _ = m.GetLocal().AddrPort()
		_ = m.GetOptions().SocketOptions()
	case *Listen:
		_, _ = m.GetLocal().AddrPort()
		_ = m.GetOptions().SocketOptions()
	}
}
