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

	"github.com/panjf2000/gnet/v2"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/udp"
)

// Server implementations and modes.
const (
	implActornet      = "actornet"       // push mode on epoll, the default backend
	implActornetURing = "actornet-uring" // the same server on the io_uring backend
	implGoNet         = "gonet"
	implGnet          = "gnet"

	modeEcho = "echo" // TCP: write back what is read
	modeSink = "sink" // TCP: read and discard (bulk one-way)
	modeUDP  = "udp"  // UDP: send each datagram back to its sender

	// maxConns is the actornet listener's connection limit: above the
	// largest cell (9000 connections), which tcp's default (8192) is not.
	maxConns = 20000
)

// serverMain runs one server until SIGTERM/SIGINT or stdin closes. It
// prints "READY addr" once it accepts.
func serverMain(impl, mode, addr string, useTLS bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); stop() }()
	var (
		bound string
		end   func()
		err   error
	)
	switch {
	case useTLS:
		bound, end, err = tlsServer(ctx, impl, mode, addr)
	case impl == implActornet:
		bound, end, err = actornetServer(ctx, mode, addr, actors.BackendEpoll)
	case impl == implActornetURing:
		bound, end, err = actornetServer(ctx, mode, addr, actors.BackendIOUring)
	case impl == implGoNet:
		bound, end, err = goNetServer(mode, addr)
	case impl == implGnet:
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

// actornetServer is push mode as the README's first example writes it: a
// tcp.HandlerFunc echo (a connection actor per connection, the handler its
// behaviour, running on the poller's goroutine, reads lent for the call),
// with no options beyond a connection limit above the harness's largest
// cell; the sink is the same handler without the Write. UDP is a push-mode
// peer whose udp.HandlerFunc sends each datagram back to its sender. The
// backend is explicit, whatever ACTORNET_BACKEND says, and one the kernel
// refuses is an error: a row named io_uring never measures epoll.
func actornetServer(ctx context.Context, mode, addr string, backend actors.Backend) (string, func(), error) {
	sys, err := actors.Start(actors.WithBackend(backend))
	if err != nil {
		return "", nil, err
	}
	end := func() { _ = sys.StopNow() }
	if got := sys.Backend(); got != backend {
		end()
		return "", nil, fmt.Errorf("actornet server: backend %v asked, %v running (the kernel refused it)", backend, got)
	}
	switch mode {
	case modeEcho, modeSink:
		h := tcp.HandlerFunc(func(c *tcp.Conn, msg any) {
			if m, ok := msg.(*messages.Received); ok {
				c.Write(m.GetData())
			}
		})
		if mode == modeSink {
			h = func(*tcp.Conn, any) {} // reading resumes by itself
		}
		l, err := tcp.Serve(ctx, sys, addr, h, tcp.WithMaxConnections(maxConns))
		if err != nil {
			end()
			return "", nil, err
		}
		return l.Addr().String(), end, nil
	case modeUDP:
		h := udp.HandlerFunc(func(c *udp.Conn, msg any) {
			if d, ok := msg.(*messages.Datagram); ok {
				c.SendTo(c.From(), d.GetData())
			}
		})
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
	return goroutinePerConn(ln, mode == modeSink)
}

// goroutinePerConn accepts on ln and copies what each connection reads
// back to it (or away, for a sink), a goroutine per connection.
func goroutinePerConn(ln net.Listener, sink bool) (string, func(), error) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if sink {
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
