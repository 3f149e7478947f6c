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
// writes before FIN, and aborts one whose peer does not read once the grace
// period ends.
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
	err := svc.Stop(within(t, 300*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "1 connections aborted at the deadline, 1 closed cleanly") {
		t.Fatalf("Stop = %v; want 1 closed after flushing, 1 aborted at the deadline", err)
	}
	data, err := got.Wait(ctx)
	if err != nil || len(data.GetData()) != size {
		t.Fatalf("the reading peer got %d of %d bytes: %v", len(data.GetData()), size, err)
	}
	if _, err := reader.Recv(ctx, 1); !errors.Is(err, io.EOF) {
		t.Fatalf("after the flush: %v; want end of stream", err)
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
