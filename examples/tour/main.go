// Command tour is a short walk through actornet: it starts a system, puts
// socket actors on a socket pair and polls them, echoes over TCP and UDP,
// runs a supervised service through an injected crash of its listener,
// and prints what happened, how long each step took, and the system's
// metrics at the end.
//
// Usage:
//
//	tour                 the walk, on loopback; exits 0 when every step did
//	tour -listen ADDR    serve the supervised echo service on ADDR until
//	                     interrupted, then print the metrics
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/udp"
)

func main() {
	listen := flag.String("listen", "", "serve the supervised echo service on `addr` (e.g. 127.0.0.1:7000) until interrupted")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: tour [-listen addr]\n\nWith no flags, walks through actornet on loopback and prints each step.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	var err error
	if *listen != "" {
		err = serve(*listen)
	} else {
		err = run(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tour:", err)
		os.Exit(1)
	}
}

// serve runs the tour's echo service on addr until SIGINT or SIGTERM.
func serve(addr string) error {
	sys, err := actors.Start()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	svc, err := tcp.StartService(ctx, sys, addr, echoHandler)
	if err != nil {
		_ = sys.StopNow()
		return err
	}
	fmt.Printf("tour: echo service on %s (interrupt to stop)\n", svc.Addr())
	<-ctx.Done()
	drainCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = svc.Stop(drainCtx)
	if err == nil {
		fmt.Println("tour: drained: every connection closed cleanly")
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = errors.Join(err, sys.Stop(stopCtx))
	printMetrics(os.Stdout, sys)
	return err
}

// out is where the tour prints.
var out io.Writer = os.Stdout

// step prints one line: what was done, how long it took, what came back
// (in words, or the Go error's own text).
func step(what, result string, took time.Duration) {
	fmt.Fprintf(out, "  %-44s %9s  %s\n", what, took.Round(time.Microsecond), result)
}

func run(w io.Writer) error {
	out = w
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	fmt.Fprintln(out, "actornet tour: every socket is an actor")
	t := time.Now()
	// Fault injection lets the tour crash a listener on purpose; it is off
	// unless asked for.
	sys, err := actors.Start(actors.WithFaultInjection())
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
	poll := func(what string, op actors.PollOp, timeout time.Duration) error {
		t := time.Now()
		pctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		st, err := sock.Poll(pctx, op)
		step(what, pollName(st, err), time.Since(t))
		if st == actors.PollEvent || st == actors.PollTimeout {
			return nil
		}
		return err
	}
	if err := poll("poll(write): send space is free", actors.PollWrite, time.Second); err != nil {
		return err
	}
	if err := poll("poll(read, 50ms): nothing sent yet", actors.PollRead, 50*time.Millisecond); err != nil {
		return err
	}

	t = time.Now()
	pending := sock.PollAsync(actors.PollRead, 0)
	if _, err := peer.Write([]byte("hello, actor")); err != nil {
		return err
	}
	res, err := pending.Wait(ctx)
	if err != nil {
		return err
	}
	step("poll(read) while the peer writes", pollName(res.GetStatus(), res.GetError().Err()), time.Since(t))

	t = time.Now()
	pending = sock.PollAsync(actors.PollWrite, 0)
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
	st, err := hung.Poll(ctx, actors.PollRead)
	step("poll(read) after the peer hung up", pollName(st, err), time.Since(t))

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
	pending = quiet.PollAsync(actors.PollRead, 0)
	if err := quiet.Close(ctx); err != nil {
		return err
	}
	res, err = pending.Wait(ctx)
	if err != nil {
		return err
	}
	step("close with a poll pending: the poll is", pollName(res.GetStatus(), res.GetError().Err()), time.Since(t))

	t = time.Now()
	err = quiet.Close(ctx)
	if !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close again: %v, want net.ErrClosed", err)
	}
	step("close again", err.Error(), time.Since(t))

	if err := tcpEcho(ctx, sys); err != nil {
		return err
	}
	if err := udpEcho(ctx, sys); err != nil {
		return err
	}
	if err := unixEcho(ctx, sys); err != nil {
		return err
	}
	if err := service(ctx, sys); err != nil {
		return err
	}

	t = time.Now()
	if err := sys.Stop(ctx); err != nil {
		return err
	}
	step("stop the system (closes every socket left)", "ok", time.Since(t))
	printMetrics(out, sys)
	return nil
}

// echoHandler is a push-mode handler that writes back what it receives:
// it runs as each connection actor's behaviour, and reading goes on when
// it returns.
var echoHandler = tcp.HandlerFunc(func(c *tcp.Conn, msg any) {
	if m, ok := msg.(*messages.Received); ok {
		_ = c.Write(m.GetData()) // the data is lent for the call: Write copies what it queues
	}
})

// echoOnce sends msg on c and checks that it comes back.
func echoOnce(ctx context.Context, c *tcp.Client, msg string) error {
	if _, err := c.Send(ctx, []byte(msg)); err != nil {
		return err
	}
	got, err := c.RecvExact(ctx, len(msg))
	if err != nil {
		return err
	}
	if string(got) != msg {
		return fmt.Errorf("echo: got %q, want %q", got, msg)
	}
	return nil
}

// tcpEcho runs a push-mode TCP echo server and a client against it.
func tcpEcho(ctx context.Context, sys *actors.System) error {
	t := time.Now()
	l, err := tcp.Serve(ctx, sys, "127.0.0.1:0", echoHandler)
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
	if err := echoOnce(ctx, c, "hello, actor"); err != nil {
		return err
	}
	step("tcp: send 12 bytes, read the echo", "echoed", time.Since(t))
	got := []byte("hello, actor")

	t = time.Now()
	const n = 1000
	for i := 0; i < n; i++ {
		if _, err := c.Send(ctx, got); err != nil {
			return err
		}
		if got, err = c.RecvExact(ctx, len(got)); err != nil {
			return err
		}
	}
	took := time.Since(t)
	step(fmt.Sprintf("tcp: %d more round trips", n), (took/n).Round(time.Microsecond).String()+"/rt", took)
	return nil
}

// unixEcho serves the same echo handler on a Unix-domain socket, in
// Linux's abstract namespace (no file to clean up), and dials it: the
// handler is told who connected (the peer's pid, uid and gid).
func unixEcho(ctx context.Context, sys *actors.System) error {
	t := time.Now()
	who := make(chan string, 1)
	l, err := tcp.Serve(ctx, sys, fmt.Sprintf("unix:@actornet-tour-%d", os.Getpid()), tcp.HandlerFunc(func(c *tcp.Conn, msg any) {
		if _, ok := msg.(*messages.Connected); ok {
			if cred, ok := c.PeerCred(); ok {
				who <- cred.String()
			}
		}
		echoHandler(c, msg)
	}))
	if err != nil {
		return err
	}
	defer l.Close(ctx)
	c, err := tcp.Dial(ctx, sys, l.Address())
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	if err := echoOnce(ctx, c, "hello, unix"); err != nil {
		return err
	}
	select {
	case peer := <-who:
		step("unix: serve on unix:@name, dial, echo", "echoed; its handler saw the peer "+peer, time.Since(t))
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// udpEcho runs a push-mode UDP echo peer, a bound peer that talks to it,
// and shows truncation and a send-only peer's refusal to receive.
func udpEcho(ctx context.Context, sys *actors.System) error {
	echo := udp.HandlerFunc(func(c *udp.Conn, msg any) {
		if d, ok := msg.(*messages.Datagram); ok {
			_ = c.SendTo(c.From(), d.GetData())
		}
	})
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
	if _, err := me.SendTo(ctx, srv.LocalAddr(), []byte("hello, datagram")); err != nil {
		return err
	}
	data, _, err := me.RecvFrom(ctx, 64)
	if err != nil || string(data) != "hello, datagram" {
		return fmt.Errorf("udp echo: %q, %v", data, err)
	}
	step("udp: send a datagram, read the echo", "echoed", time.Since(t))

	t = time.Now()
	if _, err := me.SendTo(ctx, srv.LocalAddr(), []byte("a datagram longer than the buffer")); err != nil {
		return err
	}
	// The Async form's result tells the datagram's real length.
	d, err := me.RecvFromAsync(8, time.Second).Wait(ctx)
	if err == nil {
		err = d.GetStatus().Err()
	}
	if !errors.Is(err, socket.ErrTruncated) {
		return fmt.Errorf("udp truncation: %v", err)
	}
	step(fmt.Sprintf("udp: read %d of %d bytes", len(d.GetData()), d.GetLength()), "truncated", time.Since(t))

	t = time.Now()
	sendOnly, err := udp.NewPeer(sys)
	if err != nil {
		return err
	}
	defer sendOnly.Close(ctx)
	_, _, err = sendOnly.RecvFrom(ctx, 64)
	if !errors.Is(err, socket.ErrUDPNotBound) {
		return fmt.Errorf("send-only receive: %v", err)
	}
	step("udp: receive on a send-only peer", err.Error(), time.Since(t))
	return nil
}

// service runs a supervised echo service, crashes its listener on
// purpose, and shows that it serves on: the connection open at the crash
// and a new one both echo. Then it drains the service.
func service(ctx context.Context, sys *actors.System) error {
	t := time.Now()
	svc, err := tcp.StartService(ctx, sys, "127.0.0.1:0", echoHandler)
	if err != nil {
		return err
	}
	ap := svc.Addr()
	step("service: start a supervised echo service", "ok", time.Since(t))
	before, err := tcp.Dial(ctx, sys, ap.String())
	if err != nil {
		return err
	}
	defer before.Close(ctx)
	if err := echoOnce(ctx, before, "before the crash"); err != nil {
		return err
	}

	info, err := svc.Info(ctx)
	if err != nil {
		return err
	}
	restarted := make(chan *tcp.ListenerRestarted, 1)
	sub := sys.Actors.EventStream.Subscribe(func(evt interface{}) {
		if r, ok := evt.(*tcp.ListenerRestarted); ok {
			select {
			case restarted <- r:
			default:
			}
		}
	})
	defer sys.Actors.EventStream.Unsubscribe(sub)
	t = time.Now()
	sys.Root().Send(info.GetListener().PID(), &messages.InjectFault{})
	select {
	case r := <-restarted:
		if r.Addr != ap {
			return fmt.Errorf("service: listener restarted on %v, not %v", r.Addr, ap)
		}
	case <-ctx.Done():
		return fmt.Errorf("service: the listener was not restarted: %w", ctx.Err())
	}
	step("service: inject a crash into its listener", "restarted", time.Since(t))

	t = time.Now()
	if err := echoOnce(ctx, before, "after the crash"); err != nil {
		return fmt.Errorf("service: the connection open at the crash: %w", err)
	}
	step("service: the connection open at the crash", "echoes", time.Since(t))
	t = time.Now()
	after, err := tcp.Dial(ctx, sys, ap.String())
	if err != nil {
		return err
	}
	defer after.Close(ctx)
	if err := echoOnce(ctx, after, "a new connection"); err != nil {
		return fmt.Errorf("service: a new connection: %w", err)
	}
	step("service: a new connection, same address", "echoes", time.Since(t))

	t = time.Now()
	if info, err = svc.Info(ctx); err != nil {
		return err
	}
	if err := svc.Stop(ctx); err != nil {
		return err
	}
	step("service: drain and stop", fmt.Sprintf("%d connections closed cleanly", info.GetLive()), time.Since(t))
	return nil
}

// printMetrics prints the system's counters by kind and service: the
// groups with a number in the table that is not zero.
func printMetrics(w io.Writer, sys *actors.System) {
	m := sys.Metrics().Sockets
	keys := make([]actors.MetricKey, 0, len(m))
	for k, t := range m {
		if t.Open != 0 || t.BytesIn != 0 || t.BytesOut != 0 || t.Accepted != 0 || t.Errors != 0 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Kind != keys[j].Kind {
			return keys[i].Kind < keys[j].Kind
		}
		return keys[i].Service < keys[j].Service
	})
	fmt.Fprintln(w, "metrics (System.Metrics; exported with WithMeterProvider):")
	if len(keys) == 0 {
		fmt.Fprintln(w, "  no traffic")
		return
	}
	// The service column is as wide as its longest name (a Unix socket's
	// address can be long).
	width := 18
	for _, k := range keys {
		width = max(width, len(k.Service))
	}
	fmt.Fprintf(w, "  %-13s %-*s %5s %9s %9s %8s %7s\n", "kind", width, "service", "open", "bytes in", "bytes out", "accepted", "errors")
	for _, k := range keys {
		t := m[k]
		svc := k.Service
		if svc == "" {
			svc = "-"
		}
		fmt.Fprintf(w, "  %-13s %-*s %5d %9d %9d %8d %7d\n", k.Kind, width, svc, t.Open, t.BytesIn, t.BytesOut, t.Accepted, t.Errors)
	}
}

// pollName says a poll's outcome in words: its status, and for anything
// but an event or a timeout the error it stands for.
func pollName(st actors.PollStatus, err error) string {
	var name string
	switch st {
	case actors.PollEvent:
		return "event"
	case actors.PollTimeout:
		return "timeout"
	case actors.PollError:
		name = "error"
	case actors.PollClosed:
		name = "closed"
	case actors.PollCancelled:
		name = "cancelled"
	default:
		name = st.String()
	}
	if err != nil {
		name += " (" + err.Error() + ")"
	}
	return name
}
