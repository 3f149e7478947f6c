package tcp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
)

func startService(t *testing.T, addr string, h Handler, opts ...ServeOption) (*Service, string) {
	t.Helper()
	sys := newSystem(t, actors.WithFaultInjection())
	svc, err := StartService(testCtx(t), sys, addr, h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ap := svc.Addr()
	if ap.Port() == 0 {
		t.Fatalf("Addr = %v", ap)
	}
	return svc, ap.String()
}

// TestServiceSurvivesListenerCrash: a crashed listener is replaced on the
// same address; the connection open at the crash lives on.
func TestServiceSurvivesListenerCrash(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		events := make(chan any, 64)
		svc, target := startService(t, addr, testHandler(events, echoing))
		defer svc.Stop(testCtx(t))
		ctx := testCtx(t)
		sys := svc.sys
		before := dial(t, sys, target)
		next[*messages.Connected](t, events)

		info, err := svc.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		restarted := make(chan *ListenerRestarted, 1)
		sub := sys.Actors.EventStream.Subscribe(func(evt interface{}) {
			if r, ok := evt.(*ListenerRestarted); ok {
				restarted <- r
			}
		})
		defer sys.Actors.EventStream.Unsubscribe(sub)
		sys.Root().Send(info.GetListener().PID(), &messages.InjectFault{})
		select {
		case r := <-restarted:
			if r.Old.Id != info.GetListener().GetId() || r.Addr.String() != target {
				t.Fatalf("ListenerRestarted = %+v", r)
			}
		case <-ctx.Done():
			t.Fatal("the service never replaced its crashed listener")
		}
		if in, err := svc.Info(ctx); err != nil || in.GetRestarts() != 1 {
			t.Fatalf("Info = %v, %v; want 1 restart", in, err)
		}
		// The old connection still echoes.
		before.Send(ctx, []byte("still"))
		if got, err := before.RecvExact(ctx, 5); err != nil || string(got) != "still" {
			t.Fatalf("the connection open at the crash: %q, %v", got, err)
		}
		// New connections reach the new listener on the same address.
		after := dial(t, sys, target)
		after.Send(ctx, []byte("fresh"))
		if got, err := after.RecvExact(ctx, 5); err != nil || string(got) != "fresh" {
			t.Fatalf("a connection after the crash: %q, %v", got, err)
		}
	})
}

// TestServiceDrain: Stop lets a connection whose peer reads flush all its
// writes before FIN, and aborts one whose peer does not read once Stop's
// context ends. The context ends when the flushed connection has closed,
// not at a fixed deadline, so a slow machine cannot turn the flush into an
// abort (the deadline's arithmetic is TestDrainGrace's).
func TestServiceDrain(t *testing.T) {
	const size = 8 << 20
	big := bytes.Repeat([]byte{9}, size)
	onConnect := func(c *Conn, msg any) {
		if _, ok := msg.(*messages.Connected); ok {
			c.Write(big)
		}
	}
	events := make(chan any, 64)
	svc, target := startService(t, "127.0.0.1:0", testHandler(events, onConnect), WithWriteQueue(16<<20, 12<<20, 1<<20))
	ctx := testCtx(t)
	sys := svc.sys
	reader := dial(t, sys, target)
	next[*messages.Connected](t, events)
	stalled := dial(t, sys, target)
	next[*messages.Connected](t, events)

	got := reader.RecvExactAsync(size, 10*time.Second) // reads everything
	stopCtx, abort := context.WithCancel(ctx)
	defer abort()
	stopped := make(chan error, 1)
	go func() { stopped <- svc.Stop(stopCtx) }()
	data, err := got.Wait(ctx)
	if err != nil || len(data.GetData()) != size {
		t.Fatalf("the reading peer got %d of %d bytes: %v", len(data.GetData()), size, err)
	}
	if _, err := reader.Recv(ctx, 1); !errors.Is(err, io.EOF) {
		t.Fatalf("after the flush: %v; want end of stream", err)
	}
	// The flushed connection's actor stops just after its FIN; wait until
	// the service has seen it go, then end Stop's context.
	for live := uint64(2); live != 1; {
		in, err := svc.Info(ctx)
		if err != nil {
			t.Fatalf("Info while draining: %v", err)
		}
		live = in.GetLive()
	}
	abort()
	select {
	case err = <-stopped:
	case <-ctx.Done():
		t.Fatal("Stop did not return after its context ended")
	}
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "1 connections aborted at the deadline, 1 closed cleanly") {
		t.Fatalf("Stop = %v; want 1 closed after flushing, 1 aborted when its context ended", err)
	}
	// The peer that never read was reset.
	var rerr error
	for rerr == nil {
		_, rerr = stalled.Recv(ctx, 1<<20)
	}
	if !errors.Is(rerr, syscall.ECONNRESET) {
		t.Fatalf("the stalled peer read %v; want a reset", rerr)
	}
}

// TestServiceStopByItsDeadline: Stop with a context that has already
// ended aborts the connections at once and says so (wrapping ctx's
// error), and leaves nothing waiting: the leak check in TestMain finds no
// goroutine behind.
func TestServiceStopByItsDeadline(t *testing.T) {
	svc, target := startService(t, "127.0.0.1:0", HandlerFunc(echoing))
	dial(t, svc.sys, target)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// The connection may close cleanly before the abort reaches it.
	err := svc.Stop(ctx)
	if err != nil && (!errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "1 connections aborted")) {
		t.Fatalf("Stop with an ended context = %v; want nil or '1 connections aborted' wrapping context.Canceled", err)
	}
	if err := svc.stopped.Wait(testCtx(t)); err != nil {
		t.Fatalf("the service did not stop afterwards: %v", err)
	}
	// Stop again: it waits for the same stop, done by now.
	if err := svc.Stop(testCtx(t)); err != nil {
		t.Fatalf("a second Stop = %v; want nil", err)
	}
}

// TestDrainGrace: a Stop within a deadline drains until shortly before it,
// keeping a fifth of the time (at most 200 ms) to abort what is left.
func TestDrainGrace(t *testing.T) {
	if got := drainGraceMS(context.Background()); got != 0 {
		t.Errorf("no deadline: grace %d ms; want 0 (none)", got)
	}
	for _, c := range []struct {
		left     time.Duration
		min, max uint32 // ms; the clock runs between the deadline and the call
	}{
		{300 * time.Millisecond, 230, 240},
		{5 * time.Second, 4790, 4800},
		{time.Millisecond, 1, 1},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), c.left)
		got := drainGraceMS(ctx)
		cancel()
		if got < c.min || got > c.max {
			t.Errorf("%v left: grace %d ms; want %d to %d", c.left, got, c.min, c.max)
		}
	}
}
