// Command chat is a line-based chat server on actornet: every line a
// client sends reaches every other client.
//
//	go run ./examples/chat                          # a server and 3 clients chatting, then a summary
//	go run ./examples/chat -listen 127.0.0.1:7000   # only the server, until interrupted; try two `nc 127.0.0.1 7000`
//
// It is message-driven all the way: each connection's handler tells a room
// actor who joined, what they said and when they left; the room sends
// every line to every other member's connection actor as a Write. Lines
// are framed by the connection (tcp.Lines): the handler sees whole lines,
// and an over-long line closes that connection.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/tcp"
)

// MaxLine bounds a chat line.
const MaxLine = 1024

type config struct {
	listen  string
	clients int
	lines   int
}

func main() {
	var cfg config
	flag.StringVar(&cfg.listen, "listen", "", "serve on `ADDR` until interrupted (only the server)")
	flag.IntVar(&cfg.clients, "clients", 3, "clients in the default run")
	flag.IntVar(&cfg.lines, "lines", 5, "lines each client sends in the default run")
	flag.Parse()
	if err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

func run(cfg config, out io.Writer) error {
	if cfg.clients < 2 || cfg.lines < 1 {
		return fmt.Errorf("-clients must be at least 2 and -lines at least 1")
	}
	sys, err := actors.Start()
	if err != nil {
		return err
	}
	defer sys.StopNow()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	addr := cfg.listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := serve(ctx, sys, addr)
	if err != nil {
		return err
	}
	defer l.Close(context.Background())
	fmt.Fprintf(out, "chat server on %s\n", l.Addr())
	if cfg.listen != "" {
		<-ctx.Done()
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	sum, err := chatters(ctx, sys, l.Addr().String(), cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "clients %d, lines sent %d, lines delivered %d (each line to the %d others)\n",
		cfg.clients, sum.sent, sum.delivered, cfg.clients-1)
	return nil
}

// serve starts the room and the push-mode listener whose handlers talk to it.
func serve(ctx context.Context, sys *actors.System, addr string) (*tcp.Listener, error) {
	room := sys.Root().Spawn(actor.PropsFromProducer(func() actor.Actor { return newRoom() }))
	lines, err := tcp.Lines(MaxLine)
	if err != nil {
		return nil, err
	}
	handler := actor.PropsFromProducer(func() actor.Actor { return &member{room: room} },
		actor.WithDispatcher(sys.Dispatcher()))
	return tcp.Serve(ctx, sys, addr, handler, tcp.WithFraming(lines))
}

// member is one connection's handler: its parent is the connection actor.
type member struct {
	room *actor.PID
	name string
}

func (m *member) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *messages.Connected:
		remote, _ := msg.GetRemote().AddrPort()
		m.name = remote.String()
		ctx.Send(m.room, &join{conn: ctx.Parent(), name: m.name})
	case *messages.Received:
		ctx.Send(m.room, &say{from: ctx.Parent(), line: m.name + ": " + string(msg.GetData())})
		ctx.Send(ctx.Parent(), &messages.ResumeReading{Credit: 1})
	case *messages.PeerClosed, *messages.Closed, *messages.ErrorClosed, *actor.Stopping:
		ctx.Send(m.room, &leave{conn: ctx.Parent()})
	}
}
