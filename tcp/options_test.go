package tcp

import (
	"context"
	"io"
	"math"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/test/testkit"
)

// TestServeOptionsInvalid: Serve and StartService refuse each invalid
// push-mode or listen option, naming it and its value, and start nothing.
func TestServeOptionsInvalid(t *testing.T) {
	sys := newSystem(t)
	tests := []struct {
		name string
		opt  ServeOption
		want string
	}{
		{"credit 0", WithReadCredit(0), "WithReadCredit(0): must be at least 1"},
		{"credit -1", WithReadCredit(-1), "WithReadCredit(-1): must be at least 1"},
		{"read size 0", WithReadSize(0), "WithReadSize(0): must be from 1 to 4194304 (MaxReadSize)"},
		{"read size -5", WithReadSize(-5), "WithReadSize(-5): must be from 1 to 4194304 (MaxReadSize)"},
		{"read size over the max", WithReadSize(MaxReadSize + 1), "WithReadSize(4194305): must be from 1 to 4194304 (MaxReadSize)"},
		{"queue zero", WithWriteQueue(0, 0, 0), "WithWriteQueue(0, 0, 0): high must be at least 1"},
		{"queue high over limit", WithWriteQueue(10, 20, 30), "WithWriteQueue(10, 20, 30): high must be at most limit"},
		{"queue low over high", WithWriteQueue(30, 20, 21), "WithWriteQueue(30, 20, 21): low must be at most high"},
		{"queue low negative", WithWriteQueue(30, 20, -1), "WithWriteQueue(30, 20, -1): low must be at least 0"},
		{"max conns 0", WithMaxConnections(0), "WithMaxConnections(0): must be at least 1"},
		{"max conns -1", WithMaxConnections(-1), "WithMaxConnections(-1): must be at least 1"},
		{"accept batch 0", WithAcceptBatch(0), "WithAcceptBatch(0): must be at least 1"},
		{"accept batch -1", WithAcceptBatch(-1), "WithAcceptBatch(-1): must be at least 1"},
		{"idle negative", WithIdleTimeout(-1), "WithIdleTimeout(-1ns): must be 0 (off) or at least 1ms"},
		{"idle 1ns", WithIdleTimeout(1), "WithIdleTimeout(1ns): must be 0 (off) or at least 1ms"},
		{"framing nil", WithFraming(nil), "WithFraming(nil): a framing must not be nil (leave the option out for none)"},
		{"supervisor nil", WithHandlerSupervisor(nil), "WithHandlerSupervisor(nil): a strategy must not be nil (leave the option out for the default)"},
		{"backlog -1", WithBacklog(-1), "WithBacklog(-1): must be from 0 (the kernel maximum) to 2147483647"},
		{"backlog too big", WithBacklog(math.MaxInt32 + 1), "WithBacklog(2147483648): must be from 0 (the kernel maximum) to 2147483647"},
		{"accepted linger -1s", WithLinger(-time.Second), "WithLinger(-1s): must be 0 (abort on close) or at least 1s"},
		{"nil", nil, "nil option: an option must not be nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			// A valid option before the invalid one does not hide it.
			l, err := Serve(ctx, sys, "127.0.0.1:0", testHandler(nil, nil), WithReadCredit(2), tt.opt)
			if err == nil {
				_ = l.Close(context.Background())
			}
			testkit.WantOptionError(t, err, "listen", "listen tcp: "+tt.want)
			svc, err := StartService(ctx, sys, "127.0.0.1:0", testHandler(nil, nil), tt.opt)
			if err == nil {
				_ = svc.Stop(context.Background())
			}
			testkit.WantOptionError(t, err, "listen", "listen tcp: "+tt.want)
		})
	}
}

// TestServeOptionsFirstInvalid: with several invalid options the error
// names the first.
func TestServeOptionsFirstInvalid(t *testing.T) {
	sys := newSystem(t)
	_, err := Serve(testCtx(t), sys, "127.0.0.1:0", testHandler(nil, nil), WithBacklog(-1), WithReadSize(0))
	testkit.WantOptionError(t, err, "listen", "listen tcp: WithBacklog(-1): must be from 0 (the kernel maximum) to 2147483647")
}

// TestListenOptionsInvalid: Listen and ListenAt refuse an invalid
// ListenOption before spawning anything.
func TestListenOptionsInvalid(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	const want = "listen tcp: WithBacklog(-1): must be from 0 (the kernel maximum) to 2147483647"
	_, err := Listen(ctx, sys, "127.0.0.1:0", WithBacklog(-1))
	testkit.WantOptionError(t, err, "listen", want)
	// The options are checked before the node is asked for a listener.
	_, err = ListenAt(ctx, sys, "127.0.0.1:1", "127.0.0.1:0", WithBacklog(-1))
	testkit.WantOptionError(t, err, "listen", want)
}

// TestServeOptionsEdges: the smallest valid values (and zeros that mean
// "default" or "off") are accepted, and the server echoes; with the
// shortest idle timeout, a silent client is closed (an echo there would
// race the timer: the client's write may come a millisecond late).
func TestServeOptionsEdges(t *testing.T) {
	sys := newSystem(t)
	lines, err := Lines(16)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts []ServeOption
	}{
		{"ones", []ServeOption{WithReadCredit(1), WithReadSize(1), WithMaxConnections(1), WithAcceptBatch(1)}},
		{"queue 1 1 0", []ServeOption{WithWriteQueue(1, 1, 0), WithReadSize(1)}}, // each write of one byte
		{"queue equal", []ServeOption{WithWriteQueue(64, 64, 64)}},
		{"idle off", []ServeOption{WithIdleTimeout(0)}},
		{"backlog kernel max", []ServeOption{WithBacklog(0)}},
		{"backlog max", []ServeOption{WithBacklog(math.MaxInt32)}},
		{"framing", []ServeOption{WithFraming(lines)}},
		{"supervisor", []ServeOption{WithHandlerSupervisor(actors.StoppingStrategy())}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := serve(t, sys, "127.0.0.1:0", testHandler(nil, echoing), tt.opts...)
			nc := dialWithin(t, l.Addr().String(), "hi\n")
			got := make([]byte, 3)
			if _, err := io.ReadFull(nc, got); err != nil || string(got) != "hi\n" {
				t.Fatalf("echo %q, %v; want \"hi\\n\"", got, err)
			}
		})
	}
	t.Run("idle 1ms", func(t *testing.T) {
		l := serve(t, sys, "127.0.0.1:0", testHandler(nil, echoing), WithIdleTimeout(time.Millisecond))
		nc := dialWithin(t, l.Addr().String(), "")
		if n, err := nc.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("a silent client read %d bytes, %v; want EOF (closed idle)", n, err)
		}
	})
}

// TestClientOptionsInvalid: NewClient, Dial, NewClientAt and DialAt refuse
// each invalid socket option, naming it and its value, before any
// socket or actor exists.
func TestClientOptionsInvalid(t *testing.T) {
	sys := newSystem(t)
	tests := []struct {
		name string
		opt  Option
		want string
	}{
		{"linger negative", WithLinger(-time.Second), "WithLinger(-1s): must be 0 (abort on close) or at least 1s"},
		{"linger under a second", WithLinger(500 * time.Millisecond), "WithLinger(500ms): must be 0 (abort on close) or at least 1s"},
		{"linger too long", WithLinger(time.Duration(math.MaxInt64)), "WithLinger(2562047h47m16.854775807s): must be at most 2147483647s"},
		{"buffers negative", WithBuffers(-1, -1), "WithBuffers(-1, -1): sizes must be from 0 (the default) to 2147483647"},
		{"buffers too big", WithBuffers(0, math.MaxInt32+1), "WithBuffers(0, 2147483648): sizes must be from 0 (the default) to 2147483647"},
		{"keepalive idle negative", WithKeepAlive(socket.KeepAlive{Enable: true, Idle: -time.Second}),
			"WithKeepAlive({Enable:true Idle:-1s Interval:0s Count:0}): Idle must be 0 (the kernel's) or from 1s to 9h6m7s"},
		{"keepalive interval under a second", WithKeepAlive(socket.KeepAlive{Enable: true, Interval: time.Millisecond}),
			"WithKeepAlive({Enable:true Idle:0s Interval:1ms Count:0}): Interval must be 0 (the kernel's) or from 1s to 9h6m7s"},
		{"keepalive idle too long", WithKeepAlive(socket.KeepAlive{Enable: true, Idle: 32768 * time.Second}),
			"WithKeepAlive({Enable:true Idle:9h6m8s Interval:0s Count:0}): Idle must be 0 (the kernel's) or from 1s to 9h6m7s"},
		{"keepalive count negative", WithKeepAlive(socket.KeepAlive{Enable: true, Count: -1}),
			"WithKeepAlive({Enable:true Idle:0s Interval:0s Count:-1}): Count must be from 0 (the kernel's) to 127"},
		{"keepalive count too big", WithKeepAlive(socket.KeepAlive{Enable: true, Count: 128}),
			"WithKeepAlive({Enable:true Idle:0s Interval:0s Count:128}): Count must be from 0 (the kernel's) to 127"},
		{"nil", nil, "nil option: an option must not be nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			want := "socket tcp: " + tt.want
			c, err := NewClient(sys, WithNoDelay(true), tt.opt)
			if err == nil {
				_ = c.Close(context.Background())
			}
			testkit.WantOptionError(t, err, "socket", want)
			// Dial fails on the option, not on connecting: nothing listens
			// at port 1.
			_, err = Dial(ctx, sys, "127.0.0.1:1", tt.opt)
			testkit.WantOptionError(t, err, "socket", want)
			// The options are checked before the node is asked for a client.
			_, err = NewClientAt(ctx, sys, "127.0.0.1:1", tt.opt)
			testkit.WantOptionError(t, err, "socket", want)
			_, err = DialAt(ctx, sys, "127.0.0.1:1", "127.0.0.1:1", tt.opt)
			testkit.WantOptionError(t, err, "socket", want)
		})
	}
}

// TestClientOptionsEdges: the edge values of the socket options are
// accepted by Dial and by the kernel.
func TestClientOptionsEdges(t *testing.T) {
	sys := newSystem(t)
	l := serve(t, sys, "127.0.0.1:0", testHandler(nil, nil))
	tests := []struct {
		name string
		opts []Option
	}{
		{"linger abort", []Option{WithLinger(0)}},
		{"linger 1s", []Option{WithLinger(time.Second)}},
		{"buffers default", []Option{WithBuffers(0, 0)}},
		{"keepalive kernel's", []Option{WithKeepAlive(socket.KeepAlive{Enable: true})}},
		{"keepalive smallest", []Option{WithKeepAlive(socket.KeepAlive{Enable: true, Idle: time.Second, Interval: time.Second, Count: 1})}},
		{"keepalive largest", []Option{WithKeepAlive(socket.KeepAlive{Enable: true, Idle: 32767 * time.Second, Interval: 32767 * time.Second, Count: 127})}},
		{"no delay off", []Option{WithNoDelay(false)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Dial(testCtx(t), sys, l.Addr().String(), tt.opts...)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			_ = c.Close(context.Background())
		})
	}
}
