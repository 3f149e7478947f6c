// Command gateway shows sockets driven from another process: node A owns
// the sockets, node B (the gateway) holds the logic and drives them
// through the same tcp handles it would use for local sockets, every
// request and answer crossing as protobuf over Proto.Actor remote.
//
//	go run ./examples/gateway                         # starts node A as a second process, 3 users × 5 lines, a summary
//	go run ./examples/gateway -listen 127.0.0.1:7000  # the same two processes, serving until interrupted
//	go run ./examples/gateway -node 127.0.0.1:8090    # only node A, until its stdin closes or it is interrupted
//
// The service is an upper-casing line echo: B has A listen, accepts each
// connection (the accepted socket stays on A), reads lines with Recv and
// answers with Send, all remotely. Users are plain Go net clients of A's
// port. Remote binds loopback and serves only actornet's message types,
// and the two nodes talk over mutual TLS: the default run (and -listen)
// makes a throwaway CA and a certificate for each node at start, and a
// peer without a certificate that CA signed is refused at the handshake
// (actors.WithRemoteTLS). Node A run alone (-node) is plain loopback.
// A line is at most 64 KiB: a longer one gets "line too long" and the
// connection is closed, and other users are served as before.
//
// A user that sends its lines and half-closes at once (`printf 'a\nb\n' |
// nc -N 127.0.0.1 7000`, or sendall then shutdown(SHUT_WR)) gets every
// answer, then the end of the stream: B answers each line before it reads
// on, answers a last line without a newline at the end of the stream too,
// and only then closes the connection (see serveConn).
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/test/testkit/certs"
)

// nodeEnv, set to an address, makes this program run as node A: how the
// default run starts its second process (and how the test binary does).
const nodeEnv = "ACTORNET_GATEWAY_NODE"

// tlsEnv, set to a directory holding cert.pem, key.pem and ca.pem, makes
// node A speak mutual TLS with them.
const tlsEnv = "ACTORNET_GATEWAY_TLS"

// listenEnv, set to an address, is the one address node A lets node B
// listen on (nodePolicy); unset, any port of loopback.
const listenEnv = "ACTORNET_GATEWAY_LISTEN"

// nodeB is the name in node B's certificate: the caller node A serves.
const nodeB = "node B"

type config struct {
	listen string
	users  int
	lines  int
}

func main() {
	if addr := os.Getenv(nodeEnv); addr != "" {
		os.Exit(nodeMain(addr, os.Stdin, os.Stdout))
	}
	var cfg config
	node := flag.String("node", "", "run only node A, with remote on `ADDR`, until stdin closes or an interrupt")
	flag.StringVar(&cfg.listen, "listen", "", "serve the gateway on `ADDR` (a port of node A) until interrupted")
	flag.IntVar(&cfg.users, "users", 3, "users in the default run")
	flag.IntVar(&cfg.lines, "lines", 5, "lines each user sends in the default run")
	flag.Usage = func() { // named after the example, not the go run binary
		fmt.Fprintf(flag.CommandLine.Output(), "Usage of gateway:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *node != "" {
		os.Exit(nodeMain(*node, os.Stdin, os.Stdout))
	}
	if err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

// nodeMain is node A: a system with remote on addr that prints its address
// and serves until stdin closes or SIGINT/SIGTERM.
func nodeMain(addr string, in io.Reader, out io.Writer) int {
	dir := os.Getenv(tlsEnv)
	policy, err := nodePolicy(dir != "", os.Getenv(listenEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway node:", err)
		return 1
	}
	opts := []actors.Option{actors.WithRemote(addr), actors.WithRemotePolicy(policy)}
	if dir != "" {
		sec, err := loadNodeTLS(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gateway node:", err)
			return 1
		}
		opts = append(opts, actors.WithRemoteTLS(sec))
	}
	sys, err := actors.Start(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway node:", err)
		return 1
	}
	fmt.Fprintf(out, "NODE %s\n", sys.Address())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	eof := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, in); close(eof) }()
	select {
	case <-eof:
	case <-ctx.Done():
	}
	if err := sys.StopNow(); err != nil {
		fmt.Fprintln(os.Stderr, "gateway node:", err)
		return 1
	}
	return 0
}

// nodePolicy is what node A lets other nodes do: have it listen, on the
// gateway's address (listen) or, when none is given, on any port of
// loopback, and drive what it accepts; nothing else (no connections out,
// no UDP). With TLS only node B may; on plain loopback, any local process.
func nodePolicy(tls bool, listen string) (actors.Policy, error) {
	callers := []string{"*"}
	if tls {
		callers = []string{nodeB}
	}
	at := []string{"127.0.0.1:*", "[::1]:*"}
	if listen != "" {
		at = []string{listen}
	}
	return actors.NewAllowlist(actors.Rule{Name: "gateway", Callers: callers, Spawn: []string{"tcp.listener"}, Listen: at})
}

// nodeProc is node A as a second process.
type nodeProc struct {
	addr string
	pid  int
	stop func() error // closes its stdin and waits for it to exit
}

// startNode starts node A as a second process of this program, with its
// certificate files in tlsDir, letting node B listen on listen.
func startNode(tlsDir, listen string) (*nodeProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), nodeEnv+"=127.0.0.1:0", tlsEnv+"="+tlsDir, listenEnv+"="+listen)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	wait := func() error { stdin.Close(); return cmd.Wait() }
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "NODE "); ok {
				addr <- a
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if ok {
			return &nodeProc{addr: a, pid: cmd.Process.Pid, stop: wait}, nil
		}
	case <-time.After(10 * time.Second):
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil, errors.New("node A did not start")
}

func run(cfg config, out io.Writer) (err error) {
	if cfg.users < 1 || cfg.lines < 1 {
		return errors.New("-users and -lines must be at least 1")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g, err := startGateway(ctx, cfg.listen)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, g.stop()) }()
	addr := cfg.listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := g.listen(ctx, addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "gateway: node A (process %d, remote at %s) owns the sockets; node B (process %d, remote at %s) drives them\n",
		g.node.pid, g.node.addr, os.Getpid(), g.sys.Address())
	fmt.Fprintln(out, "gateway: the nodes talk over mutual TLS (certificates from a CA made at start)")
	fmt.Fprintf(out, "gateway: listening on %s (a socket on node A)\n", l.Addr())

	if cfg.listen != "" {
		fmt.Fprintln(out, "gateway: serving until interrupted; each line you send comes back upper-cased")
		<-ctx.Done()
		return nil
	}
	return talk(ctx, l.Addr().String(), cfg, out)
}

// talk runs the default run's users against addr and prints a summary.
func talk(ctx context.Context, addr string, cfg config, out io.Writer) error {
	rtts, err := users(ctx, addr, cfg)
	if err != nil {
		return err
	}
	slices.Sort(rtts)
	fmt.Fprintf(out, "gateway: %d users × %d lines: %d replies, all upper-cased\n", cfg.users, cfg.lines, len(rtts))
	fmt.Fprintf(out, "gateway: line round trip through both nodes: median %v, max %v\n",
		rtts[len(rtts)/2].Round(time.Microsecond), rtts[len(rtts)-1].Round(time.Microsecond))
	return nil
}

// gateway is the two nodes as node B sees them: node A (the second
// process), B's system, the listeners on A and the loops that serve their
// connections from B. Its methods are not safe for concurrent use.
type gateway struct {
	node      *nodeProc
	sys       *actors.System
	serving   context.Context    // ends with stop
	end       context.CancelFunc // ends the serving
	listeners []*tcp.Listener
	wg        sync.WaitGroup // the accept loops and one per connection
}

// startGateway starts node A as a second process and node B in this one;
// A lets B listen on listen only ("": any port of loopback). The serving
// ends with stop, or when ctx ends.
func startGateway(ctx context.Context, listen string) (g *gateway, err error) {
	secB, dirA, err := makeNodeTLS()
	if err != nil {
		return nil, err
	}
	node, err := startNode(dirA, listen)
	_ = os.RemoveAll(dirA) // node A has read its files once it is up
	if err != nil {
		return nil, err
	}
	g = &gateway{node: node}
	g.serving, g.end = context.WithCancel(ctx)
	if g.sys, err = actors.Start(actors.WithRemote(""), actors.WithRemoteTLS(secB)); err != nil {
		return nil, errors.Join(err, g.stop())
	}
	return g, nil
}

// listen has node A listen on addr, and serves the connections from B.
func (g *gateway) listen(ctx context.Context, addr string) (*tcp.Listener, error) {
	setup, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	l, err := tcp.ListenAt(setup, g.sys, g.node.addr, addr)
	if err != nil {
		return nil, err
	}
	g.listeners = append(g.listeners, l)
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		acceptLoop(g.serving, l, &g.wg)
	}()
	return l, nil
}

// stop ends the serving (open connections are closed), closes the
// listeners, stops B's system, then node A.
func (g *gateway) stop() error {
	g.end()
	g.wg.Wait()
	var err error
	for _, l := range g.listeners {
		cctx, cancel := context.WithTimeout(context.Background(), sendWait)
		_ = l.Close(cctx)
		cancel()
	}
	if g.sys != nil {
		err = g.sys.StopNow()
	}
	if werr := g.node.stop(); werr != nil {
		err = errors.Join(err, fmt.Errorf("node A: %w", werr))
	}
	return err
}

// Limits of the service: every wait on node A has a deadline, so a lost
// answer (node A gone, the link between the nodes dropped) costs one
// connection a bounded wait, never the gateway.
const (
	// maxLine is the longest line served, newline included: a longer one
	// gets "line too long" and the connection is closed. It also bounds
	// what one connection buffers, and keeps each Send far below
	// actors.MaxRemoteMessage.
	maxLine = 64 << 10
	// recvChunk is how much one Recv asks node A for.
	recvChunk = 4096
	// sendWait bounds one answer's Send (and the close after the last).
	sendWait = 10 * time.Second
	// acceptWait bounds one Accept; the loop then accepts again.
	acceptWait = time.Minute
	// acceptRetries is how many Accepts in a row may fail (not time out)
	// before the loop gives the listener up as closed.
	acceptRetries = 3
	// idleWait bounds how long a connection may stay silent: its Recv
	// then ends and the connection is closed.
	idleWait = 5 * time.Minute
)

// tooLong is the answer to a line over maxLine, before the close.
const tooLong = "line too long\n"

// acceptLoop accepts connections on the remote listener and serves each
// from this process; it returns when ctx ends, or when the listener is
// gone (acceptRetries failures in a row).
func acceptLoop(ctx context.Context, l *tcp.Listener, wg *sync.WaitGroup) {
	failures := 0
	for ctx.Err() == nil && failures < acceptRetries {
		actx, cancel := context.WithTimeout(ctx, acceptWait)
		c, err := l.Accept(actx)
		cancel()
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			continue // nobody came: accept again
		case err != nil:
			failures++
			continue
		}
		failures = 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveConn(ctx, c)
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendWait)
			defer cancel()
			_ = c.Close(cctx)
		}()
	}
}

// serveConn reads lines from a connection on node A and answers each one
// upper-cased, until the user leaves, stays silent for idleWait, sends a
// line over maxLine, or ctx ends. Each answer is sent (and the Send
// awaited) before the next Recv, so when Recv reports the end of the
// stream (the user half-closed) every answer is already in A's kernel:
// what is left is the tail after the last newline, answered too, and then
// the caller closes the connection (everything was read, so the close is
// a plain FIN after the answers).
func serveConn(ctx context.Context, c *tcp.Client) {
	send := func(p []byte) error {
		sctx, cancel := context.WithTimeout(ctx, sendWait)
		defer cancel()
		_, err := c.Send(sctx, p)
		return err
	}
	var pending []byte // at most maxLine + recvChunk bytes
	for {
		rctx, cancel := context.WithTimeout(ctx, idleWait)
		data, err := c.Recv(rctx, recvChunk)
		cancel()
		if errors.Is(err, io.EOF) && len(pending) > 0 {
			_ = send(bytes.ToUpper(pending))
		}
		if err != nil {
			return // end of stream, idle, or ctx ended
		}
		pending = append(pending, data...)
		for {
			i := bytes.IndexByte(pending, '\n')
			if i < 0 || i >= maxLine {
				break
			}
			line := bytes.ToUpper(pending[:i+1])
			pending = pending[i+1:]
			if err := send(line); err != nil {
				return
			}
		}
		if len(pending) >= maxLine {
			// A line over maxLine (its newline not within it): say so
			// and close, whatever the user sends after.
			_ = send([]byte(tooLong))
			return
		}
	}
}

// users runs the default run's users: plain Go clients of node A's port,
// each sending its lines and checking every answer.
func users(ctx context.Context, addr string, cfg config) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var (
		mu   sync.Mutex
		rtts []time.Duration
		errs []error
		wg   sync.WaitGroup
	)
	for u := range cfg.users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := user(ctx, addr, u, cfg.lines)
			mu.Lock()
			defer mu.Unlock()
			rtts = append(rtts, got...)
			if err != nil {
				errs = append(errs, fmt.Errorf("user %d: %w", u, err))
			}
		}()
	}
	wg.Wait()
	return rtts, errors.Join(errs...)
}

func user(ctx context.Context, addr string, u, lines int) ([]time.Duration, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	r := bufio.NewReader(conn)
	rtts := make([]time.Duration, 0, lines)
	for i := range lines {
		line := fmt.Sprintf("user %d says hello %d\n", u, i)
		t := time.Now()
		if _, err := io.WriteString(conn, line); err != nil {
			return rtts, err
		}
		got, err := r.ReadString('\n')
		if err != nil {
			return rtts, err
		}
		rtts = append(rtts, time.Since(t))
		if got != strings.ToUpper(line) {
			return rtts, fmt.Errorf("sent %q, got %q", line, got)
		}
	}
	return rtts, nil
}

// makeNodeTLS makes a throwaway CA and a certificate for each node: node
// B's mutual TLS, and a directory with node A's files (for the second
// process).
func makeNodeTLS() (b actors.RemoteTLS, dirA string, err error) {
	ca, err := certs.NewCA("actornet gateway nodes")
	if err != nil {
		return b, "", err
	}
	certA, err := ca.Issue(certs.Leaf{Hosts: []string{"127.0.0.1"}, Name: "node A"})
	if err != nil {
		return b, "", err
	}
	certB, err := ca.Issue(certs.Leaf{Hosts: []string{"127.0.0.1"}, Name: nodeB})
	if err != nil {
		return b, "", err
	}
	if dirA, err = os.MkdirTemp("", "gateway-tls-"); err != nil {
		return b, "", err
	}
	if _, _, _, err = ca.WriteFiles(dirA, certA); err != nil {
		_ = os.RemoveAll(dirA)
		return b, "", err
	}
	return actors.MutualTLS(certB, ca.Pool), dirA, nil
}

// loadNodeTLS reads node A's certificate, key and CA from dir.
func loadNodeTLS(dir string) (actors.RemoteTLS, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		return actors.RemoteTLS{}, err
	}
	pool, err := certs.LoadPool(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return actors.RemoteTLS{}, err
	}
	return actors.MutualTLS(cert, pool), nil
}
