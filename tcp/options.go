package tcp

import (
	"fmt"
	"math"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// Option configures a connection's socket: WithNoDelay, WithKeepAlive,
// WithBuffers, WithLinger. A client's (NewClient, Dial, NewClientAt,
// DialAt), or, given to Listen or Serve (an Option is a ListenOption and a
// ServeOption too), those of every connection the listener accepts. An
// option given an invalid value makes the call that takes it fail with an
// error naming the option and the value (wrapping
// socket.ErrInvalidArgument).
type Option interface {
	ListenOption
	applyClient(*clientConfig)
}

// clientConfig is what a client's options set: its socket options and the
// first invalid option, if any.
type clientConfig struct {
	opts *messages.Options
	err  error
}

// clientOption is a setting of a client's socket.
type clientOption func(*clientConfig)

func (o clientOption) applyClient(c *clientConfig) { o(c) }
func (o clientOption) applyListen(c *listenConfig) { o(&c.accepted) }
func (o clientOption) applyServe(c *serveConfig) {
	o(&c.listen.accepted)
	c.fail(c.listen.accepted.err)
}

// badOption returns the error of an invalid option: option is the call
// with its value, reason what a valid value is.
func badOption(option, reason string) error {
	return &socket.OptionError{Option: option, Reason: reason}
}

// errNilOption is a nil Option, ListenOption or ServeOption.
var errNilOption = badOption("nil option", "an option must not be nil")

// invalidClient is an Option whose value was invalid: it records err.
func invalidClient(err error) Option {
	return clientOption(func(c *clientConfig) { c.err = core.FirstError(c.err, err) })
}

// defaultOptions are a client's socket options before Option values:
// TCP_NODELAY on, as for Go's net.
func defaultOptions() *messages.Options { return &messages.Options{NoDelay: true} }

// WithNoDelay sets TCP_NODELAY (on by default: small writes go out at once).
func WithNoDelay(on bool) Option {
	return clientOption(func(c *clientConfig) { c.opts.NoDelay = on })
}

// Bounds of the kernel's keepalive settings (Linux: MAX_TCP_KEEPIDLE,
// MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT).
const (
	maxKeepAliveTime  = 32767 * time.Second
	maxKeepAliveCount = 127
)

// WithKeepAlive turns TCP keepalive probes on with the given timings. A
// zero Idle, Interval or Count keeps the kernel's; Idle and Interval are
// otherwise whole seconds from 1 s to 32767 s (a fraction of a second is
// dropped), and Count is 1 to 127. Anything else is invalid.
func WithKeepAlive(k socket.KeepAlive) Option {
	name := fmt.Sprintf("WithKeepAlive(%+v)", k)
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"Idle", k.Idle}, {"Interval", k.Interval}} {
		if d.v != 0 && (d.v < time.Second || d.v > maxKeepAliveTime) {
			return invalidClient(badOption(name, d.field+" must be 0 (the kernel's) or from 1s to 9h6m7s"))
		}
	}
	if k.Count < 0 || k.Count > maxKeepAliveCount {
		return invalidClient(badOption(name, "Count must be from 0 (the kernel's) to 127"))
	}
	return clientOption(func(c *clientConfig) {
		c.opts.Keepalive = k.Enable
		c.opts.KeepaliveIdleS = uint32(k.Idle / time.Second)
		c.opts.KeepaliveIntervalS = uint32(k.Interval / time.Second)
		c.opts.KeepaliveCount = uint32(k.Count)
	})
}

// WithBuffers sets SO_RCVBUF and SO_SNDBUF in bytes; zero keeps the
// default. Each must be from 0 to math.MaxInt32.
func WithBuffers(recv, send int) Option {
	if err := checkBuffers(recv, send); err != nil {
		return invalidClient(err)
	}
	return clientOption(func(c *clientConfig) {
		c.opts.RecvBuffer, c.opts.SendBuffer = uint32(recv), uint32(send)
	})
}

// checkBuffers checks WithBuffers' sizes.
func checkBuffers(recv, send int) error {
	if recv < 0 || send < 0 || recv > math.MaxInt32 || send > math.MaxInt32 {
		return badOption(fmt.Sprintf("WithBuffers(%d, %d)", recv, send), "sizes must be from 0 (the default) to 2147483647")
	}
	return nil
}

// WithLinger sets SO_LINGER (whole seconds; a fraction of a second is
// dropped): Close then waits up to d for unsent data. Zero makes every
// close an abort (RST). A negative d, or one from 1 ns to under 1 s
// (which would silently become an abort), is invalid.
func WithLinger(d time.Duration) Option {
	switch name := fmt.Sprintf("WithLinger(%v)", d); {
	case d < 0 || (d > 0 && d < time.Second):
		return invalidClient(badOption(name, "must be 0 (abort on close) or at least 1s"))
	case d/time.Second > math.MaxInt32:
		return invalidClient(badOption(name, "must be at most 2147483647s"))
	}
	return clientOption(func(c *clientConfig) { c.opts.LingerS = proto.Int32(int32(d / time.Second)) })
}

// buildOptions applies a client's options; the error is that of the first
// invalid one (an *socket.OptionError).
func buildOptions(opts []Option) (*messages.Options, error) {
	c := clientConfig{opts: defaultOptions()}
	for _, opt := range opts {
		if opt == nil {
			c.err = core.FirstError(c.err, errNilOption)
			continue
		}
		opt.applyClient(&c)
	}
	return c.opts, c.err
}
