package actors

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/messages"
)

// FuzzSocketCommands sends a socket actor commands decoded from arbitrary
// bytes, as another node could: every one is answered (or withdrawn when
// the caller stops waiting) without a panic or a hang, and unless the
// command closed it, the actor still answers afterwards.
func FuzzSocketCommands(f *testing.F) {
	kinds := []func() proto.Message{
		func() proto.Message { return &messages.Poll{} },
		func() proto.Message { return &messages.Shutdown{} },
		func() proto.Message { return &messages.SetBlocking{} },
		func() proto.Message { return &messages.GetInfo{} },
		func() proto.Message { return &messages.GetSocketStats{} },
		func() proto.Message { return &messages.Close{} },
		func() proto.Message { return &messages.InjectFault{} },
		func() proto.Message { return &messages.Recv{} },
		func() proto.Message { return &messages.SendTo{} },
		func() proto.Message { return &messages.Connect{} },
		func() proto.Message { return &messages.Withdraw{} },
	}
	for i := range kinds {
		f.Add(uint8(i), []byte{})
	}
	poll, _ := proto.Marshal(&messages.Poll{Op: messages.PollOp_POLL_OP_READ, TimeoutMs: 1})
	f.Add(uint8(0), poll)
	shut, _ := proto.Marshal(&messages.Shutdown{How: messages.ShutdownHow_SHUTDOWN_HOW_BOTH})
	f.Add(uint8(1), shut)
	sys := newSystem(f)
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		cmd := kinds[int(which)%len(kinds)]()
		if err := proto.Unmarshal(data, cmd); err != nil {
			return
		}
		sa, _ := pair(t, sys)
		// A short wait: a Poll with a long timeout is withdrawn, which is
		// part of what is fuzzed.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = Await(ctx, sys, sa.PID(), Request[any](sys.Root(), sa.PID(), cmd))
		}()
		select {
		case <-done:
		case <-time.After(testTimeout):
			t.Fatalf("%T %v: no answer", cmd, cmd)
		}
		if _, closes := cmd.(*messages.Close); closes {
			return
		}
		// It answers (ok, or closed if the command ended it): it does not hang.
		if _, err := sa.Info(testCtx(t)); errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("after %T %v the actor does not answer", cmd, cmd)
		}
		_ = sa.Close(context.Background())
	})
}
