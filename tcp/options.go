package tcp

import (
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// Option configures a Client (NewClient, Dial).
type Option func(*messages.Options)

// defaultOptions are a client's socket options before Option values:
// TCP_NODELAY on, as for Go's net.
func defaultOptions() *messages.Options { return &messages.Options{NoDelay: true} }

// WithNoDelay sets TCP_NODELAY (on by default: small writes go out at once).
func WithNoDelay(on bool) Option { return func(o *messages.Options) { o.NoDelay = on } }

// WithKeepAlive turns TCP keepalive probes on with the given timings (zero
// fields keep the kernel's; timings are whole seconds).
func WithKeepAlive(k socket.KeepAlive) Option {
	return func(o *messages.Options) {
		o.Keepalive = k.Enable
		o.KeepaliveIdleS = uint32(k.Idle / time.Second)
		o.KeepaliveIntervalS = uint32(k.Interval / time.Second)
		o.KeepaliveCount = uint32(k.Count)
	}
}

// WithBuffers sets SO_RCVBUF and SO_SNDBUF in bytes; zero keeps the default.
func WithBuffers(recv, send int) Option {
	return func(o *messages.Options) {
		o.RecvBuffer, o.SendBuffer = uint32(max(recv, 0)), uint32(max(send, 0))
	}
}

// WithLinger sets SO_LINGER (whole seconds): Close then waits up to d for
// unsent data; zero makes every close an abort (RST).
func WithLinger(d time.Duration) Option {
	return func(o *messages.Options) { o.LingerS = proto.Int32(int32(d / time.Second)) }
}

func buildOptions(opts []Option) *messages.Options {
	o := defaultOptions()
	for _, opt := range opts {
		opt(o)
	}
	return o
}
