package actors

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

const (
	opRead      = PollRead
	opWrite     = PollWrite
	opReadWrite = PollReadWrite
	stEvent     = PollEvent
	stTimeout   = PollTimeout
	stClosed    = PollClosed
	stCancelled = PollCancelled
	stError     = PollError
)

func TestPollWritableAtOnce(t *testing.T) {
	sys := newSystem(t)
	sa, _ := pair(t, sys)
	for _, op := range []messages.PollOp{opWrite, opReadWrite} {
		st, err := sa.Poll(testCtx(t), op)
		if st != stEvent || err != nil {
			t.Errorf("Poll(%v) = %v, %v; want event", op, st, err)
		}
	}
}

func TestPollReadTimeout(t *testing.T) {
	sys := newSystem(t)
	sa, _ := pair(t, sys)
	start := time.Now()
	st, err := sa.Poll(within(t, 50*time.Millisecond), opRead)
	if st != stTimeout || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Poll = %v, %v; want timeout wrapping os.ErrDeadlineExceeded", st, err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("timed out after %v, before the 50ms timeout", d)
	}
}

func TestPollReadEventAfterWrite(t *testing.T) {
	sys := newSystem(t)
	sa, b := pair(t, sys)
	f := sa.PollAsync(opRead, 0) // no timeout: waits for the event
	if _, _, done := f.Result(); done {
		t.Fatal("poll answered before any data was written")
	}
	mustWrite(t, b, []byte("ping"))
	res, err := f.Wait(testCtx(t))
	if err != nil || res.GetStatus() != stEvent {
		t.Fatalf("Poll = %v, %v; want event", res, err)
	}
	// Level semantics: the unread data keeps the socket readable.
	st, err := sa.Poll(testCtx(t), opRead)
	if st != stEvent || err != nil {
		t.Fatalf("second Poll = %v, %v; want event", st, err)
	}
}

func TestPollClosedOnHangUpWithoutData(t *testing.T) {
	sys := newSystem(t)
	sa, b := pair(t, sys)
	f := sa.PollAsync(opRead, 0)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := f.Wait(testCtx(t))
	if err != nil || res.GetStatus() != stClosed || !errors.Is(res.Err(), io.EOF) {
		t.Fatalf("Poll = %v, %v; want closed (io.EOF)", res, err)
	}
}

func TestPollEventWhileDataLeftAfterHangUp(t *testing.T) {
	sys := newSystem(t)
	sa, b := pair(t, sys)
	mustWrite(t, b, []byte("last words"))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := sa.Poll(testCtx(t), opRead)
	if st != stEvent || err != nil {
		t.Fatalf("Poll = %v, %v; want event: unread data remains", st, err)
	}
}

func TestPollWriteWaitsForSpace(t *testing.T) {
	sys := newSystem(t)
	a, b, err := socket.Pair(socket.Stream)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.SetSendBuffer(4096); err != nil {
		t.Fatal(err)
	}
	// Fill a's send path until the kernel says EAGAIN.
	chunk := make([]byte, 4096)
	for {
		if _, err := a.Write(chunk); err != nil {
			if !errors.Is(err, syscall.EAGAIN) {
				t.Fatalf("filling: %v", err)
			}
			break
		}
	}
	sa, err := SpawnSocket(sys, a)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := sa.Poll(within(t, 20*time.Millisecond), opWrite)
	if st != stTimeout {
		t.Fatalf("Poll(write) on a full socket = %v; want timeout", st)
	}
	f := sa.PollAsync(opWrite, 0)
	buf := make([]byte, 1<<20)
	for {
		if _, err := b.Read(buf); err != nil {
			break // drained
		}
	}
	res, err := f.Wait(testCtx(t))
	if err != nil || res.GetStatus() != stEvent {
		t.Fatalf("Poll(write) after draining = %v, %v; want event", res, err)
	}
}

func TestPollInvalidArguments(t *testing.T) {
	sys := newSystem(t)
	sa, _ := pair(t, sys)
	tests := []struct {
		name    string
		op      messages.PollOp
		timeout time.Duration
	}{
		{name: "unspecified op", op: messages.PollOp_POLL_OP_UNSPECIFIED, timeout: time.Second},
		{name: "unknown op", op: messages.PollOp(42), timeout: time.Second},
		{name: "negative timeout", op: opRead, timeout: -time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := sa.PollAsync(tt.op, tt.timeout).Wait(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			st, err := res.GetStatus(), res.Err()
			if st != stError || !errors.Is(err, socket.ErrInvalidArgument) {
				t.Fatalf("Poll = %v, %v; want error wrapping ErrInvalidArgument", st, err)
			}
			var oe *socket.OpError
			if !errors.As(err, &oe) || oe.Op != "poll" {
				t.Fatalf("error %v does not name the poll operation", err)
			}
		})
	}
}

func TestCloseCancelsPendingPolls(t *testing.T) {
	sys := newSystem(t)
	sa, _ := pair(t, sys)
	read := sa.PollAsync(opRead, 0)
	timed := sa.PollAsync(opRead, time.Hour)
	if err := sa.Close(testCtx(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, f := range []*Future[*messages.PollResult]{read, timed} {
		res, err := f.Wait(testCtx(t))
		if err != nil || res.GetStatus() != stCancelled || !errors.Is(res.Err(), socket.ErrCancelled) {
			t.Fatalf("pending Poll after Close = %v, %v; want cancelled", res, err)
		}
	}
}

func TestRequestsAfterClose(t *testing.T) {
	sys := newSystem(t)
	sa, _ := pair(t, sys)
	if err := sa.Close(testCtx(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := testCtx(t)
	if err := sa.Close(ctx); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close = %v; want net.ErrClosed", err)
	}
	if st, err := sa.Poll(ctx, opRead); st != stClosed || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Poll after Close = %v, %v; want closed, net.ErrClosed", st, err)
	}
	if err := sa.Shutdown(ctx, messages.ShutdownHow_SHUTDOWN_HOW_BOTH); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Shutdown after Close = %v; want net.ErrClosed", err)
	}
	if err := sa.SetBlocking(ctx, true); !errors.Is(err, net.ErrClosed) {
		t.Errorf("SetBlocking after Close = %v; want net.ErrClosed", err)
	}
	if _, err := sa.Info(ctx); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Info after Close = %v; want net.ErrClosed", err)
	}
}

func TestShutdownWriteIsSeenByPeer(t *testing.T) {
	sys := newSystem(t)
	sa, b := pair(t, sys)
	ctx := testCtx(t)
	if err := sa.Shutdown(ctx, messages.ShutdownHow_SHUTDOWN_HOW_WRITE); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	buf := make([]byte, 8)
	if n, err := b.Read(buf); n != 0 || err != nil {
		t.Fatalf("peer Read after shutdown(write) = %d, %v; want 0, nil (EOF)", n, err)
	}
	if err := sa.Shutdown(ctx, messages.ShutdownHow(9)); !errors.Is(err, socket.ErrInvalidArgument) {
		t.Fatalf("Shutdown(9) = %v; want ErrInvalidArgument", err)
	}
}

func TestSetBlockingIsRecordedFdStaysNonBlocking(t *testing.T) {
	sys := newSystem(t)
	sa, _ := pair(t, sys)
	ctx := testCtx(t)
	if err := sa.SetBlocking(ctx, true); err != nil {
		t.Fatalf("SetBlocking: %v", err)
	}
	in, err := sa.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !in.GetBlocking() || in.GetType() != "stream" {
		t.Fatalf("Info = %v; want blocking stream", in)
	}
	// The actor still answers a poll with a timeout rather than blocking.
	if st, _ := sa.Poll(within(t, 10*time.Millisecond), opRead); st != stTimeout {
		t.Fatalf("Poll = %v; want timeout", st)
	}
}

func TestContextCancelWithdrawsPoll(t *testing.T) {
	sys := newSystem(t)
	sa, _ := pair(t, sys)
	ctx, cancel := context.WithCancel(context.Background())
	f := sa.PollAsync(opRead, 0)
	cancel()
	if _, err := Await(ctx, sys, sa.PID(), f); !errors.Is(err, context.Canceled) {
		t.Fatalf("Await = %v; want context.Canceled", err)
	}
	res, err := f.Wait(testCtx(t))
	if err != nil || res.GetStatus() != stCancelled {
		t.Fatalf("withdrawn poll = %v, %v; want cancelled", res, err)
	}
}

func TestServedType(t *testing.T) {
	for name, want := range map[string]bool{
		"actornet.messages.Recv":   true,
		"actor.PID":                true,
		"actornet.messages.NoSuch": false, // unknown here: Proto.Actor would panic decoding it
		"google.protobuf.Value":    false,
		"remote.ActorPidRequest":   false,
		"":                         false,
		"actornetx.messages.Recv":  false,
	} {
		if got := servedType(name, nil); got != want {
			t.Errorf("servedType(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestInjectFault: refused unless the system allows fault injection; when
// it does, the actor panics, the request is answered closed (its caller
// does not wait for ever), its stopping supervisor stops it, and its fd
// is closed (the peer sees end of stream).
func TestInjectFault(t *testing.T) {
	ctx := testCtx(t)
	sa, _ := pair(t, newSystem(t))
	st, err := Request[*messages.Status](sa.sys.Root(), sa.PID(), &messages.InjectFault{}).Wait(ctx)
	if err == nil {
		err = st.Err()
	}
	if !errors.Is(err, socket.ErrInvalidArgument) {
		t.Fatalf("InjectFault without WithFaultInjection: %v, want invalid argument", err)
	}

	sys := newSystem(t, WithFaultInjection())
	sb, peer := pair(t, sys)
	st, err = Request[*messages.Status](sys.Root(), sb.PID(), &messages.InjectFault{}).Wait(ctx)
	if err == nil {
		err = st.Err()
	}
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("InjectFault with WithFaultInjection: %v, want closed", err)
	}
	buf := make([]byte, 1)
	if err := peer.Blocking(true); err != nil {
		t.Fatal(err)
	}
	// A bounded blocking read: SO_RCVTIMEO turns a hang into EAGAIN.
	tv := unix.NsecToTimeval(testTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(peer.FD(), unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	if n, err := peer.Read(buf); n != 0 || err != nil {
		t.Fatalf("peer Read after the fault = %d, %v; want end of stream", n, err)
	}
	if err := sb.Close(ctx); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Close after the fault: %v, want net.ErrClosed", err)
	}
}
