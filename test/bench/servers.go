package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/panjf2000/gnet/v2"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/udp"
)

// Server implementations and modes.
const (
	implActornet = "actornet"
	implGoNet    = "gonet"
	implGnet     = "gnet"

	modeEcho = "echo" // TCP: write back what is read
	modeSink = "sink" // TCP: read and discard (bulk one-way)
	modeUDP  = "udp"  // UDP: send each datagram back to its sender
)

// serverMain runs one server until SIGTERM/SIGINT or stdin closes. It
// prints "READY addr" once it accepts.
func serverMain(impl, mode, addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); stop() }()
	var (
		bound string
		end   func()
		err   error
	)
	switch impl {
	case implActornet:
		bound, end, err = actornetServer(ctx, mode, addr)
	case implGoNet:
		bound, end, err = goNetServer(mode, addr)
	case implGnet:
		bound, end, err = gnetServer(mode, addr)
	default:
		err = fmt.Errorf("unknown server %q", impl)
	}
	if err != nil {
		return err
	}
	fmt.Printf("READY %s\n", bound)
	<-ctx.Done()
	end()
	return nil
}

// actornetServer is push mode: a connection actor and an echo (or sink)
// handler per connection; UDP is a push-mode peer with an echo handler.
// The handlers never block, so they run inline (actors.InlineMailbox): on
// the poller's goroutine, like gnet's OnTraffic; and they are done with a
// Received's data when they answer it, so reads are lent
// (tcp.WithLoanedReads), as gnet lends its inbound buffer.
func actornetServer(ctx context.Context, mode, addr string) (string, func(), error) {
	sys, err := actors.Start()
	if err != nil {
		return "", nil, err
	}
	end := func() { _ = sys.StopNow() }
	switch mode {
	case modeEcho, modeSink:
		sink := mode == modeSink
		h := actor.PropsFromFunc(func(ctx actor.Context) {
			if m, ok := ctx.Message().(*messages.Received); ok {
				if sink {
					ctx.Send(ctx.Parent(), &messages.ResumeReading{Credit: 1})
				} else {
					ctx.Send(ctx.Parent(), &messages.Write{Data: m.GetData(), Credit: 1})
				}
			}
		}, actor.WithMailbox(actors.InlineMailbox))
		l, err := tcp.Serve(ctx, sys, addr, h, tcp.WithMaxConnections(20000), tcp.WithReadSize(64<<10), tcp.WithLoanedReads())
		if err != nil {
			end()
			return "", nil, err
		}
		return l.Addr().String(), end, nil
	case modeUDP:
		h := actor.PropsFromFunc(func(ctx actor.Context) {
			if d, ok := ctx.Message().(*messages.Datagram); ok {
				ctx.Send(ctx.Parent(), &messages.SendTo{Peer: d.GetSender(), Data: d.GetData()})
				ctx.Send(ctx.Parent(), &messages.ResumeReading{Credit: 1})
			}
		}, actor.WithMailbox(actors.InlineMailbox))
		p, err := udp.Serve(ctx, sys, addr, h)
		if err != nil {
			end()
			return "", nil, err
		}
		return p.LocalAddr().String(), end, nil
	}
	end()
	return "", nil, fmt.Errorf("unknown mode %q", mode)
}

// goNetServer is Go's net package as Go users write it: a goroutine per
// connection (io.Copy), or one goroutine reading a UDP socket.
func goNetServer(mode, addr string) (string, func(), error) {
	if mode == modeUDP {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return "", nil, err
		}
		go func() {
			buf := make([]byte, 64<<10)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				_, _ = pc.WriteTo(buf[:n], from)
			}
		}()
		return pc.LocalAddr().String(), func() { pc.Close() }, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if mode == modeSink {
					_, _ = io.Copy(io.Discard, c)
				} else {
					_, _ = io.Copy(c, c)
				}
			}()
		}
	}()
	return ln.Addr().String(), func() { ln.Close() }, nil
}

// gnetEcho is gnet's own echo example: write back what OnTraffic got.
type gnetEcho struct {
	gnet.BuiltinEventEngine
	sink  bool
	ready chan string
	eng   gnet.Engine
	addr  string
}

func (e *gnetEcho) OnBoot(eng gnet.Engine) gnet.Action {
	e.eng = eng
	close(e.ready)
	return gnet.None
}

func (e *gnetEcho) OnTraffic(c gnet.Conn) gnet.Action {
	if e.sink {
		_, _ = c.Discard(-1)
		return gnet.None
	}
	buf, _ := c.Next(-1)
	_, _ = c.Write(buf)
	return gnet.None
}

// gnetServer runs gnet with an event loop per CPU it may use. gnet does
// not say which port it bound for port 0, so the harness picks a free one.
func gnetServer(mode, addr string) (string, func(), error) {
	network := "tcp"
	if mode == modeUDP {
		network = "udp"
	}
	free, err := freePort(network, addr)
	if err != nil {
		return "", nil, err
	}
	e := &gnetEcho{sink: mode == modeSink, ready: make(chan string)}
	errc := make(chan error, 1)
	go func() {
		errc <- gnet.Run(e, network+"://"+free, gnet.WithMulticore(true), gnet.WithReusePort(false))
	}()
	select {
	case <-e.ready:
	case err := <-errc:
		return "", nil, errors.Join(errors.New("gnet did not start"), err)
	}
	end := func() { _ = e.eng.Stop(context.Background()); <-errc }
	return free, end, nil
}

// freePort finds a free port on addr's host by binding port 0 and closing.
func freePort(network, addr string) (string, error) {
	if network == "udp" {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return "", err
		}
		defer pc.Close()
		return pc.LocalAddr().String(), nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
