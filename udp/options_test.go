package udp

import (
	"context"
	"math"
	"net"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/test/testkit"
)

// invalidSocketOptions are socket Options with invalid values and the
// errors that name them.
var invalidSocketOptions = []struct {
	name string
	opt  Option
	want string
}{
	{"buffers negative", WithBuffers(-1, -1), "WithBuffers(-1, -1): sizes must be from 0 (the default) to 2147483647"},
	{"send buffer too big", WithBuffers(0, math.MaxInt32+1), "WithBuffers(0, 2147483648): sizes must be from 0 (the default) to 2147483647"},
	{"nil", nil, "nil option: an option must not be nil"},
}

// TestPeerOptionsInvalid: NewPeer, Bind and Dial refuse an invalid socket
// option, naming it and its value, before any socket or actor exists.
func TestPeerOptionsInvalid(t *testing.T) {
	sys := newSystem(t)
	for _, tt := range invalidSocketOptions {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			p, err := NewPeer(sys, WithReuseAddr(true), tt.opt)
			if err == nil {
				_ = p.Close(context.Background())
			}
			testkit.WantOptionError(t, err, "socket", "socket udp: "+tt.want)
			p, err = Bind(ctx, sys, "127.0.0.1:0", tt.opt)
			if err == nil {
				_ = p.Close(context.Background())
			}
			testkit.WantOptionError(t, err, "bind", "bind udp: "+tt.want)
			p, err = Dial(ctx, sys, "127.0.0.1:9", tt.opt)
			if err == nil {
				_ = p.Close(context.Background())
			}
			testkit.WantOptionError(t, err, "socket", "socket udp: "+tt.want)
		})
	}
}

// TestServeOptionsInvalid: Serve and StartService refuse each invalid
// push-mode or socket option, naming it and its value, and start nothing.
func TestServeOptionsInvalid(t *testing.T) {
	sys := newSystem(t)
	type serveCase struct {
		name string
		opt  ServeOption
		want string
	}
	tests := []serveCase{
		{"credit 0", WithReadCredit(0), "WithReadCredit(0): must be at least 1"},
		{"credit -1", WithReadCredit(-1), "WithReadCredit(-1): must be at least 1"},
		{"read size 0", WithReadSize(0), "WithReadSize(0): must be from 1 to 65535 (MaxDatagram)"},
		{"read size -1", WithReadSize(-1), "WithReadSize(-1): must be from 1 to 65535 (MaxDatagram)"},
		{"read size over MaxDatagram", WithReadSize(70000), "WithReadSize(70000): must be from 1 to 65535 (MaxDatagram)"},
		{"send queue -1", WithSendQueue(-1), "WithSendQueue(-1): must be at least 65599 (MinSendQueue)"},
		{"send queue under one datagram", WithSendQueue(MinSendQueue - 1), "WithSendQueue(65598): must be at least 65599 (MinSendQueue)"},
		{"supervisor nil", WithHandlerSupervisor(nil), "WithHandlerSupervisor(nil): a strategy must not be nil (leave the option out for the default)"},
	}
	for _, tt := range invalidSocketOptions { // a nil Option is a nil ServeOption
		tests = append(tests, serveCase{"socket " + tt.name, tt.opt, tt.want})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			// A valid option before the invalid one does not hide it.
			p, err := Serve(ctx, sys, "127.0.0.1:0", echo, WithReadCredit(2), tt.opt)
			if err == nil {
				_ = p.Close(context.Background())
			}
			testkit.WantOptionError(t, err, "bind", "bind udp: "+tt.want)
			svc, err := StartService(ctx, sys, "127.0.0.1:0", echo, tt.opt)
			if err == nil {
				_ = svc.Stop(context.Background())
			}
			testkit.WantOptionError(t, err, "bind", "bind udp: "+tt.want)
		})
	}
}

// TestServeOptionsEdges: the edge values are accepted, and the peer
// echoes (a read size of 1 cuts the datagram to its first byte).
func TestServeOptionsEdges(t *testing.T) {
	sys := newSystem(t)
	tests := []struct {
		name string
		opts []ServeOption
		want string
	}{
		{"read size 1", []ServeOption{WithReadSize(1)}, "h"},
		{"read size MaxDatagram", []ServeOption{WithReadSize(MaxDatagram)}, "hello"},
		{"credit 1", []ServeOption{WithReadCredit(1)}, "hello"},
		{"send queue smallest", []ServeOption{WithSendQueue(MinSendQueue)}, "hello"},
		{"buffers default", []ServeOption{WithBuffers(0, 0)}, "hello"},
		{"supervisor", []ServeOption{WithHandlerSupervisor(actors.StoppingStrategy())}, "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := serve(t, sys, "127.0.0.1:0", echo, tt.opts...)
			nc, err := net.Dial("udp", p.LocalAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if err := nc.SetDeadline(time.Now().Add(testTimeout)); err != nil {
				t.Fatal(err)
			}
			if _, err := nc.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 16)
			n, err := nc.Read(b)
			if err != nil || string(b[:n]) != tt.want {
				t.Fatalf("echo %q, %v; want %q", b[:n], err, tt.want)
			}
		})
	}
}

// TestPeerOptionsEdges: Bind takes the edge values of the socket options.
func TestPeerOptionsEdges(t *testing.T) {
	sys := newSystem(t)
	p, err := Bind(testCtx(t), sys, "127.0.0.1:0", WithBuffers(0, 0), WithBuffers(4096, 4096))
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	_ = p.Close(context.Background())
}
