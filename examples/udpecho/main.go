// Command udpecho is a UDP echo server and load client on actornet.
//
//	go run ./examples/udpecho                          # server and clients in one process, then a summary
//	go run ./examples/udpecho -listen 127.0.0.1:7000   # only the push-mode server, until interrupted
//	go run ./examples/udpecho -listen '[::1]:7000'     # the same on IPv6
//	go run ./examples/udpecho -connect 127.0.0.1:7000 -conns 100 -size 64 -duration 5s
//	go run ./examples/udpecho -gonet -listen 127.0.0.1:7001  # a plain Go net UDP echo server, to compare
//
// The server is a push-mode UDP peer: its handler, called inside the
// peer's actor with each datagram, sends it back to its sender. Each
// client is a bound peer that sends a datagram and waits for its echo (a
// datagram not back within -wait counts as lost). A run fails (exit status
// 1, the reason on stderr) if a client fails (a send or receive error, an
// echo that differs) or nothing is echoed at all: then a connected peer
// sends one more datagram to tell "connection refused" (nothing listens
// there) from silence.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/udp"
)

type config struct {
	listen, connect string
	conns, size     int
	duration, wait  time.Duration
	gonet           bool
	cpuprofile      string
}

func main() {
	cfg, err := parseArgs(os.Args[1:], os.Stderr)
	if err == flag.ErrHelp {
		return
	}
	if err != nil {
		os.Exit(2) // parseArgs printed why, and the usage
	}
	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "udpecho:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "udpecho:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// parseArgs parses the command line (flags only: a positional argument is
// refused), printing what is wrong and the usage to errOut.
func parseArgs(args []string, errOut io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("udpecho", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&cfg.listen, "listen", "", "serve on `ADDR` until interrupted (only the server)")
	fs.StringVar(&cfg.connect, "connect", "", "run only the clients, against the UDP echo server at `ADDR`")
	fs.IntVar(&cfg.conns, "conns", 10, "client peers")
	fs.IntVar(&cfg.size, "size", 64, "bytes per datagram")
	fs.DurationVar(&cfg.duration, "duration", time.Second, "how long the clients run")
	fs.DurationVar(&cfg.wait, "wait", 200*time.Millisecond, "how long a client waits for an echo before counting it lost")
	fs.BoolVar(&cfg.gonet, "gonet", false, "serve with Go's net package instead of actornet (for comparison)")
	fs.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile to `FILE`")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(errOut, "udpecho: unexpected argument %q: every setting is a flag\n", fs.Arg(0))
		fs.Usage()
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return cfg, nil
}

func run(cfg config, out io.Writer) error {
	limit := maxPayload(cfg.connect)
	if cfg.conns < 1 || cfg.size < 1 || cfg.size > limit || cfg.duration <= 0 || cfg.wait <= 0 {
		return fmt.Errorf("-conns, -duration and -wait must be positive and -size within 1..%d (the largest UDP payload to this address's family)", limit)
	}
	sys, err := actors.Start()
	if err != nil {
		return err
	}
	defer sys.StopNow()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	target := cfg.connect
	if target == "" {
		addr := cfg.listen
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		srv, err := startServer(ctx, sys, addr, cfg.gonet)
		if err != nil {
			return err
		}
		defer srv.close()
		fmt.Fprintf(out, "udp echo server (%s) on %s\n", srv.kind, srv.addr)
		if cfg.listen != "" {
			<-ctx.Done()
			return nil
		}
		target = srv.addr
	}
	sum, err := runClients(ctx, sys, target, cfg)
	if err != nil {
		return err
	}
	sum.print(out, cfg)
	switch {
	case sum.errors > 0:
		return fmt.Errorf("%d of %d clients failed; the first: %w", sum.errors, cfg.conns, sum.firstErr)
	case sum.echoed == 0:
		return nothingAnswered(ctx, sys, sum, cfg)
	}
	return nil
}

// echo sends each datagram back to its sender; its Data is lent for the
// call, and SendTo takes it as it is.
var echo = udp.HandlerFunc(func(c *udp.Conn, msg any) {
	if d, ok := msg.(*messages.Datagram); ok {
		_ = c.SendTo(c.From(), d.GetData())
	}
})

type server struct {
	kind, addr string
	close      func()
}

func startServer(ctx context.Context, sys *actors.System, addr string, gonet bool) (*server, error) {
	if gonet {
		return startGoNetServer(addr)
	}
	p, err := udp.Serve(ctx, sys, addr, echo) // reads take the largest datagram by default: any size echoes whole
	if err != nil {
		return nil, err
	}
	return &server{kind: "actornet push mode on " + sys.Backend().String(), addr: p.LocalAddr().String(), close: func() { _ = p.Close(context.Background()) }}, nil
}

// maxPayload is the largest UDP payload to addr's family: 65,527 bytes
// to an IPv6 address, 65,507 to IPv4 (and to a name, or the default run's
// 127.0.0.1).
func maxPayload(addr string) int {
	if ap, err := netip.ParseAddrPort(addr); err == nil && ap.Addr().Is6() && !ap.Addr().Is4In6() {
		return 65527
	}
	return 65507
}
