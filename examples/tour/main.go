// Command tour is a short walk through actornet: it starts a system, puts
// socket actors on a socket pair, polls them, and prints what happened and
// how long each step took.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/udp"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tour:", err)
		os.Exit(1)
	}
}

// out is where the tour prints.
var out io.Writer = os.Stdout

// step prints one line: what was done, what came back, how long it took.
func step(what, result string, took time.Duration) {
	fmt.Fprintf(out, "  %-44s %-10s %9s\n", what, result, took.Round(time.Microsecond))
}

func run(w io.Writer) error {
	out = w
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	fmt.Fprintln(out, "actornet tour: every socket is an actor")
	t := time.Now()
	sys, err := actors.Start()
	if err != nil {
		return err
	}
	step("start a system with its pollers", "ok", time.Since(t))

	// One end of a stream pair becomes an actor; the tour drives the other
	// end directly, as a peer process would.
	a, peer, err := socket.Pair(socket.Stream)
	if err != nil {
		return err
	}
	defer peer.Close()
	sock, err := actors.SpawnSocket(sys, a)
	if err != nil {
		return err
	}
	poll := func(what string, op messages.PollOp, timeout time.Duration) error {
		t := time.Now()
		st, err := sock.Poll(ctx, op, timeout)
		step(what, pollName(st), time.Since(t))
		if st == messages.PollStatus_POLL_STATUS_EVENT || st == messages.PollStatus_POLL_STATUS_TIMEOUT {
			return nil
		}
		return err
	}
	if err := poll("poll(write): send space is free", messages.PollOp_POLL_OP_WRITE, time.Second); err != nil {
		return err
	}
	if err := poll("poll(read, 50ms): nothing sent yet", messages.PollOp_POLL_OP_READ, 50*time.Millisecond); err != nil {
		return err
	}

	t = time.Now()
	pending := sock.PollAsync(messages.PollOp_POLL_OP_READ, 0)
	if _, err := peer.Write([]byte("hello, actor")); err != nil {
		return err
	}
	res, err := pending.Wait(ctx)
	if err != nil {
		return err
	}
	step("poll(read) while the peer writes", pollName(res.GetStatus()), time.Since(t))

	t = time.Now()
	pending = sock.PollAsync(messages.PollOp_POLL_OP_WRITE, 0)
	if _, err := pending.Wait(ctx); err != nil {
		return err
	}
	step("async poll(write), awaited as a Future", "event", time.Since(t))

	// A second pair shows a hang-up: the peer closes with nothing unread.
	b, gone, err := socket.Pair(socket.Stream)
	if err != nil {
		return err
	}
	hung, err := actors.SpawnSocket(sys, b)
	if err != nil {
		return err
	}
	gone.Close()
	t = time.Now()
	st, _ := hung.Poll(ctx, messages.PollOp_POLL_OP_READ, time.Second)
	step("poll(read) after the peer hung up", pollName(st), time.Since(t))

	t = time.Now()
	if err := sock.Shutdown(ctx, messages.ShutdownHow_SHUTDOWN_HOW_WRITE); err != nil {
		return err
	}
	step("shutdown(write)", "ok", time.Since(t))

	// A poll pending on a socket with nothing to read is answered when the
	// socket closes.
	idle, idlePeer, err := socket.Pair(socket.Stream)
	if err != nil {
		return err
	}
	defer idlePeer.Close()
	quiet, err := actors.SpawnSocket(sys, idle)
	if err != nil {
		return err
	}
	t = time.Now()
	pending = quiet.PollAsync(messages.PollOp_POLL_OP_READ, 0)
	if err := quiet.Close(ctx); err != nil {
		return err
	}
	res, err = pending.Wait(ctx)
	if err != nil {
		return err
	}
	step("close with a poll pending: the poll is", pollName(res.GetStatus()), time.Since(t))

	t = time.Now()
	err = quiet.Close(ctx)
	step("close again", errName(err), time.Since(t))

	if err := tcpEcho(ctx, sys); err != nil {
		return err
	}
	if err := udpEcho(ctx, sys); err != nil {
		return err
	}

	t = time.Now()
	if err := sys.Stop(ctx); err != nil {
		return err
	}
	step("stop the system (closes every socket left)", "ok", time.Since(t))
	return nil
}

// tcpEcho runs a push-mode TCP echo server and a client against it.
func tcpEcho(ctx context.Context, sys *actors.System) error {
	echo := actor.PropsFromFunc(func(ctx actor.Context) {
		if m, ok := ctx.Message().(*messages.Received); ok {
			ctx.Send(ctx.Parent(), &messages.Write{Data: m.GetData()})
			ctx.Send(ctx.Parent(), &messages.ResumeReading{Credit: 1})
		}
	}, actor.WithDispatcher(sys.Dispatcher()))
	t := time.Now()
	l, err := tcp.Serve(ctx, sys, "127.0.0.1:0", echo)
	if err != nil {
		return err
	}
	defer l.Close(ctx)
	step("tcp: serve an echo handler per connection", "ok", time.Since(t))

	t = time.Now()
	c, err := tcp.Dial(ctx, sys, l.Addr().String())
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	step("tcp: dial it", "connected", time.Since(t))

	t = time.Now()
	if _, err := c.Send(ctx, []byte("hello, actor"), time.Second); err != nil {
		return err
	}
	got, err := c.RecvExact(ctx, len("hello, actor"), time.Second)
	if err != nil {
		return err
	}
	if string(got) != "hello, actor" {
		return fmt.Errorf("echo: got %q", got)
	}
	step("tcp: send 12 bytes, read the echo", "echoed", time.Since(t))

	t = time.Now()
	const n = 1000
	for i := 0; i < n; i++ {
		if _, err := c.Send(ctx, got, time.Second); err != nil {
			return err
		}
		if got, err = c.RecvExact(ctx, len(got), time.Second); err != nil {
			return err
		}
	}
	took := time.Since(t)
	step(fmt.Sprintf("tcp: %d more round trips", n), (took/n).Round(time.Microsecond).String()+"/rt", took)
	return nil
}

// udpEcho runs a push-mode UDP echo peer, a bound peer that talks to it,
// and shows truncation and a send-only peer's refusal to receive.
func udpEcho(ctx context.Context, sys *actors.System) error {
	echo := actor.PropsFromFunc(func(ctx actor.Context) {
		if d, ok := ctx.Message().(*messages.Datagram); ok {
			ctx.Send(ctx.Parent(), &messages.SendTo{Peer: d.GetSender(), Data: d.GetData()})
			ctx.Send(ctx.Parent(), &messages.ResumeReading{Credit: 1})
		}
	}, actor.WithDispatcher(sys.Dispatcher()))
	t := time.Now()
	srv, err := udp.Serve(ctx, sys, "[::1]:0", echo)
	if err != nil {
		return err
	}
	defer srv.Close(ctx)
	me, err := udp.Bind(ctx, sys, "[::1]:0")
	if err != nil {
		return err
	}
	defer me.Close(ctx)
	step("udp: an echo peer and a bound peer on [::1]", "ok", time.Since(t))

	t = time.Now()
	if _, err := me.SendTo(ctx, srv.LocalAddr(), []byte("hello, datagram"), time.Second); err != nil {
		return err
	}
	d, err := me.RecvFrom(ctx, 64, time.Second)
	if err != nil || string(d.Data) != "hello, datagram" {
		return fmt.Errorf("udp echo: %q, %v", d.Data, err)
	}
	step("udp: send a datagram, read the echo", "echoed", time.Since(t))

	t = time.Now()
	me.SendTo(ctx, srv.LocalAddr(), []byte("a datagram longer than the buffer"), time.Second)
	d, err = me.RecvFrom(ctx, 8, time.Second)
	if !errors.Is(err, socket.ErrTruncated) {
		return fmt.Errorf("udp truncation: %v", err)
	}
	step(fmt.Sprintf("udp: read %d of %d bytes", len(d.Data), d.Length), "truncated", time.Since(t))

	t = time.Now()
	sendOnly, err := udp.NewPeer(sys)
	if err != nil {
		return err
	}
	defer sendOnly.Close(ctx)
	_, err = sendOnly.RecvFrom(ctx, 64, time.Second)
	if !errors.Is(err, socket.ErrUDPNotBound) {
		return fmt.Errorf("send-only receive: %v", err)
	}
	step("udp: receive on a send-only peer", "not_bound", time.Since(t))
	return nil
}

func pollName(st messages.PollStatus) string {
	switch st {
	case messages.PollStatus_POLL_STATUS_EVENT:
		return "event"
	case messages.PollStatus_POLL_STATUS_TIMEOUT:
		return "timeout"
	case messages.PollStatus_POLL_STATUS_ERROR:
		return "error"
	case messages.PollStatus_POLL_STATUS_CLOSED:
		return "closed"
	case messages.PollStatus_POLL_STATUS_CANCELLED:
		return "cancelled"
	}
	return st.String()
}

func errName(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, net.ErrClosed):
		return "ErrClosed"
	}
	return err.Error()
}
