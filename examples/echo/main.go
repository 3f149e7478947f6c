// Command echo is a TCP echo server and load client on actornet.
//
//	go run ./examples/echo                         # server and clients in one process, then a summary
//	go run ./examples/echo -listen 127.0.0.1:7000  # only the push-mode server, until interrupted
//	go run ./examples/echo -listen '[::1]:7000'    # the same on IPv6
//	go run ./examples/echo -connect 127.0.0.1:7000 -conns 100 -size 64 -duration 5s
//	go run ./examples/echo -conns 1 -size 16777216 -rounds 2 -duration 1m  # two round trips of 16 MiB
//	go run ./examples/echo -gonet -listen 127.0.0.1:7001  # a plain Go net echo server, to compare
//	go run ./examples/echo -listen unix:/tmp/echo.sock    # on a Unix socket (unix:@name: abstract)
//	go run ./examples/echo -connect unix:/tmp/echo.sock
//	go run ./examples/echo -tls                    # the same over TLS (a certificate made at start)
//	go run ./examples/echo -listen 127.0.0.1:7443 -tls   # openssl s_client -connect 127.0.0.1:7443
//	go run ./examples/echo -listen 127.0.0.1:7443 -tls -cert cert.pem -key key.pem
//	go run ./examples/echo -connect 127.0.0.1:7443 -tls -insecure
//	go run ./examples/echo -connect 127.0.0.1:7443 -tls -ca ca.pem   # verifying a -cert server against its CA
//
// The server is a push-mode listener whose handler is a plain function,
// run as each connection actor's behaviour on the poller's goroutine: it
// writes back what each Received carries, with no other actor, message or
// option in the way (the fastest path).
// Reading goes on when the handler returns; while the peer reads slower
// than it sends, the write queue passes its high watermark and the
// connection stops reading until it drains. A client that half-closes
// (`printf 'a\nb\n' | nc -N 127.0.0.1 7000`, or `nc -N -U /tmp/echo.sock`) gets the echo of everything it
// sent before the connection closes. The clients are actornet TCP clients,
// each sending size bytes and reading them back, as fast as the server
// answers; a client reads while it sends, so a message larger than the
// socket buffers (up to 1 GiB) does not stall. A run fails (exit status
// 1, the reason on stderr) if a client fails or no round trip completes.
//
// With -tls the server speaks TLS (tcp.WithTLS: the handler still reads
// and writes plaintext) with the certificate -cert and -key name, or one
// it makes at start for localhost, 127.0.0.1 and ::1 from a throwaway
// CA; it prints each failed handshake (tcp.HandshakeFailed). The clients
// dial with tcp.DialTLS and verify the server (against the throwaway CA
// in a one-process run, the system's roots with -connect, the
// certificates of -ca FILE if given) unless -insecure.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/tcp"
)

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
			fmt.Fprintln(os.Stderr, "echo:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

type config struct {
	listen, connect string
	conns, size     int
	duration        time.Duration
	rounds          int64
	gonet           bool
	cpuprofile      string
	tls, insecure   bool
	cert, key, ca   string
}

// maxSize bounds -size: the clients send one message, held in memory
// (each reads its echo back in pieces of at most recvPiece).
const maxSize = 1 << 30

// parseArgs parses the command line (flags only: a positional argument is
// refused), printing what is wrong and the usage to errOut.
func parseArgs(args []string, errOut io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&cfg.listen, "listen", "", "serve on `ADDR` (host:port, unix:PATH or unix:@name) until interrupted (only the server)")
	fs.StringVar(&cfg.connect, "connect", "", "run only the clients, against the echo server at `ADDR`")
	fs.IntVar(&cfg.conns, "conns", 10, "client connections")
	fs.IntVar(&cfg.size, "size", 64, fmt.Sprintf("bytes per round trip (at most %d)", maxSize))
	fs.DurationVar(&cfg.duration, "duration", time.Second, "how long the clients run, once connected (connects and handshakes wait up to 10s before)")
	fs.Int64Var(&cfg.rounds, "rounds", 0, "each client stops after `N` round trips, or when -duration ends if that comes first (0: only -duration)")
	fs.BoolVar(&cfg.gonet, "gonet", false, "serve with Go's net package instead of actornet (for comparison)")
	fs.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile to `FILE`")
	fs.BoolVar(&cfg.tls, "tls", false, "speak TLS: the server with -cert/-key or a certificate made at start, the clients verifying it")
	fs.StringVar(&cfg.cert, "cert", "", "the server's certificate chain, PEM `FILE` (with -tls and -key)")
	fs.StringVar(&cfg.key, "key", "", "the server's private key, PEM `FILE` (with -tls and -cert)")
	fs.BoolVar(&cfg.insecure, "insecure", false, "with -tls: the clients do not verify the server's certificate")
	fs.StringVar(&cfg.ca, "ca", "", "with -tls: the clients verify the server against the CA certificates in PEM `FILE` (not the system's)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(errOut, "echo: unexpected argument %q: every setting is a flag\n", fs.Arg(0))
		fs.Usage()
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.listen != "" && cfg.connect != "" {
		fmt.Fprintln(errOut, "echo: -listen runs only the server and -connect only the clients: give one, or neither for both")
		return cfg, errors.New("-listen with -connect")
	}
	if cfg.listen != "" && (set["conns"] || set["size"] || set["duration"] || set["rounds"]) {
		fmt.Fprintln(errOut, "echo: -conns, -size, -duration and -rounds go with the clients (-connect, or neither -listen nor -connect)")
		return cfg, errors.New("client flags with -listen")
	}
	if cfg.connect != "" && cfg.gonet {
		fmt.Fprintln(errOut, "echo: -gonet picks the server (-listen, or neither -listen nor -connect)")
		return cfg, errors.New("-gonet with -connect")
	}
	if !cfg.tls && (cfg.cert != "" || cfg.key != "" || cfg.insecure || cfg.ca != "") {
		fmt.Fprintln(errOut, "echo: -cert, -key, -ca and -insecure go with -tls")
		return cfg, errors.New("-cert, -key, -ca and -insecure need -tls")
	}
	if cfg.connect != "" && cfg.cert != "" {
		fmt.Fprintln(errOut, "echo: -cert and -key go with a server (-listen, or neither -listen nor -connect)")
		return cfg, errors.New("-cert with -connect")
	}
	if cfg.listen != "" && (cfg.insecure || cfg.ca != "") {
		fmt.Fprintln(errOut, "echo: -insecure and -ca go with the clients (-connect, or neither -listen nor -connect)")
		return cfg, errors.New("-insecure or -ca with -listen")
	}
	if cfg.insecure && cfg.ca != "" {
		fmt.Fprintln(errOut, "echo: -ca verifies the server and -insecure does not: give one")
		return cfg, errors.New("-ca with -insecure")
	}
	if (cfg.cert == "") != (cfg.key == "") {
		fmt.Fprintln(errOut, "echo: -cert and -key go together")
		return cfg, errors.New("-cert without -key, or -key without -cert")
	}
	return cfg, nil
}

func run(cfg config, out io.Writer) error {
	if cfg.conns < 1 || cfg.size < 1 || cfg.size > maxSize || cfg.duration <= 0 || cfg.rounds < 0 {
		return fmt.Errorf("-conns and -duration must be positive, -size within 1..%d, -rounds not negative (got -conns %d, -size %d, -duration %v, -rounds %d)",
			maxSize, cfg.conns, cfg.size, cfg.duration, cfg.rounds)
	}
	sys, err := actors.Start()
	if err != nil {
		return err
	}
	defer sys.StopNow()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	sec, err := newSecurity(cfg)
	if err != nil {
		return err
	}
	target := cfg.connect
	if target == "" {
		addr := cfg.listen
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		srv, err := startServer(ctx, sys, addr, cfg.gonet, sec.server)
		if err != nil {
			return err
		}
		defer srv.close()
		fmt.Fprintf(out, "echo server (%s) on %s\n", srv.kind, srv.addr)
		if cfg.listen != "" && cfg.tls {
			if cfg.cert == "" {
				fmt.Fprintf(out, "its certificate is from a throwaway CA: clients skip verification (-connect %s -tls -insecure, curl -k; openssl s_client warns)\n", srv.addr)
			}
			defer logHandshakeFailures(sys, out)()
		}
		if cfg.listen != "" {
			<-ctx.Done()
			return nil
		}
		target = srv.addr
	}
	sum, err := runClients(ctx, sys, target, cfg, sec.client)
	if err != nil {
		return err
	}
	sum.print(out, cfg)
	switch {
	case sum.errors > 0:
		return fmt.Errorf("%d of %d clients failed; the first: %w", sum.errors, cfg.conns, sum.firstErr)
	case sum.roundTrips == 0:
		return fmt.Errorf("no round trip of %d bytes completed in %v with %s: does it echo? (a large -size needs a longer -duration)", cfg.size, cfg.duration, target)
	}
	return nil
}

// echoHandler writes back what it receives. The data is lent for the
// call: Write sends it at once, or copies what the kernel does not take.
// It cannot be refused for a full queue: the connection stops reading
// while the queue is above its high watermark, far below its limit.
var echoHandler = tcp.HandlerFunc(func(c *tcp.Conn, msg any) {
	if m, ok := msg.(*messages.Received); ok {
		_ = c.Write(m.GetData())
	}
})

type server struct {
	kind, addr string
	close      func()
}

func startServer(ctx context.Context, sys *actors.System, addr string, gonet bool, tlsCfg *tls.Config) (*server, error) {
	if gonet {
		return startGoNetServer(addr, tlsCfg)
	}
	kind := "actornet push mode on " + sys.Backend().String()
	var opts []tcp.ServeOption
	if tlsCfg != nil {
		kind += ", TLS"
		opts = append(opts, tcp.WithTLS(tlsCfg))
	}
	l, err := tcp.Serve(ctx, sys, addr, echoHandler, opts...)
	if err != nil {
		return nil, err
	}
	return &server{kind: kind, addr: l.Address(), close: func() { _ = l.Close(context.Background()) }}, nil
}
