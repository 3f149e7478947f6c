package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/actornet/actornet/actors"
)

// The default run: three nodes as child processes of this one (this
// binary, in cluster mode), a client on each, chatting; then the node
// that hosts the room is killed, the room activates again on a surviving
// node, and the surviving clients go on chatting and leave.

// node is a child process running one chat node.
type node struct {
	cmd    *exec.Cmd
	addr   string // its cluster address (-node)
	stderr bytes.Buffer
	exited chan error

	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every report
	listen  string        // its chat address
	members int
	room    string // the address of the room's node, as it sees it
}

// startNode starts a chat node on addr in a child process.
func startNode(addr string, seeds []string) (*node, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	n := &node{addr: addr, exited: make(chan error, 1), changed: make(chan struct{})}
	n.cmd = exec.Command(exe, "-listen", "127.0.0.1:0", "-node", addr, "-seeds", strings.Join(seeds, ","))
	n.cmd.Stderr = &n.stderr
	n.cmd.Env = append(os.Environ(), childEnv+"=1")
	// The node reads its stdin until it ends: when this process ends,
	// however it ends, the pipe closes and the node stops.
	if _, err := n.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := n.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := n.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start node %s: %w", addr, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			n.report(sc.Text())
		}
		n.exited <- n.cmd.Wait()
	}()
	return n, nil
}

// report takes one line the node printed.
func (n *node) report(line string) {
	f := strings.Fields(line)
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case len(f) == 4 && f[0] == "NODE":
		n.listen = f[3]
	case len(f) == 2 && f[0] == "MEMBERS":
		n.members, _ = strconv.Atoi(f[1])
	case len(f) == 2 && f[0] == "ROOM":
		n.room = f[1]
	default:
		return
	}
	close(n.changed)
	n.changed = make(chan struct{})
}

// state returns what the node last reported.
func (n *node) state() (listen string, members int, room string, changed <-chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.listen, n.members, n.room, n.changed
}

// waitAll waits until ok holds for every node's reports.
func waitAll(ctx context.Context, nodes []*node, what string, ok func(listen string, members int, room string) bool) error {
	for _, n := range nodes {
		for {
			l, m, r, changed := n.state()
			if ok(l, m, r) {
				break
			}
			select {
			case <-changed:
			case err := <-n.exited:
				n.exited <- err
				return fmt.Errorf("node %s exited (%v) while waiting for %s\n%s", n.addr, err, what, n.stderr.String())
			case <-ctx.Done():
				return fmt.Errorf("waiting for %s on node %s (listen %q, members %d, room %q): %w", what, n.addr, l, m, r, ctx.Err())
			}
		}
	}
	return nil
}

// stop interrupts the node and waits for it to exit.
func (n *node) stop(ctx context.Context) error {
	_ = n.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-n.exited:
		if err != nil {
			return fmt.Errorf("node %s: %w\n%s", n.addr, err, n.stderr.String())
		}
		return nil
	case <-ctx.Done():
		_ = n.cmd.Process.Kill()
		<-n.exited
		return fmt.Errorf("node %s did not stop\n%s", n.addr, n.stderr.String())
	}
}

// kill kills the node (SIGKILL: no goodbye to the cluster).
func (n *node) kill() {
	_ = n.cmd.Process.Kill()
	err := <-n.exited
	n.exited <- err
}

// startNodes starts n nodes on ports the kernel had free, and starts
// again on others when a node finds its provider's port (its own plus
// one, which nothing reserved) taken meanwhile by another socket: up to
// five tries.
func startNodes(ctx context.Context, n int) ([]*node, error) {
	for try := 1; ; try++ {
		addrs := make([]string, n)
		for i := range addrs {
			a, err := nodeAddr()
			if err != nil {
				return nil, err
			}
			addrs[i] = a
		}
		var nodes []*node
		for _, a := range addrs {
			nd, err := startNode(a, addrs)
			if err != nil {
				for _, started := range nodes {
					started.kill()
				}
				return nil, err
			}
			nodes = append(nodes, nd)
		}
		err := waitAll(ctx, nodes, "the nodes to listen", func(l string, _ int, _ string) bool { return l != "" })
		if err == nil {
			return nodes, nil
		}
		for _, nd := range nodes {
			nd.kill()
		}
		if try == 5 || !strings.Contains(err.Error(), "address already in use") {
			return nil, err
		}
	}
}

// nodeAddr returns a loopback address whose port and the next one (the
// automanaged provider's, actors.ProviderPort) the kernel has just had
// free.
func nodeAddr() (string, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		port := l.Addr().(*net.TCPAddr).Port
		next, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(actors.ProviderPort(port))))
		l.Close()
		if err == nil {
			next.Close()
			return l.Addr().String(), nil
		}
	}
	return "", fmt.Errorf("no two free consecutive ports on 127.0.0.1")
}

// client is a chat client of the demo, with a goroutine reading its
// lines.
type client struct {
	name  string // as the room calls it: its address as the server sees it
	conn  *net.TCPConn
	lines chan stamped // closed at the end of the stream
}

// stamped is a line and when it came.
type stamped struct {
	text string
	at   time.Time
}

func dial(addr string) (*client, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	cl := &client{name: c.LocalAddr().String(), conn: c.(*net.TCPConn), lines: make(chan stamped, 1024)}
	go func() {
		defer close(cl.lines)
		r := bufio.NewReader(c)
		for {
			s, err := r.ReadString('\n')
			if err != nil {
				return
			}
			cl.lines <- stamped{text: strings.TrimSuffix(s, "\n"), at: time.Now()}
		}
	}()
	return cl, nil
}

// next returns the client's next line with prefix (skipping notices
// unless asked for them); io.EOF at the end of the stream.
func (c *client) next(ctx context.Context, prefix string) (stamped, error) {
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				return stamped{}, io.EOF
			}
			if prefix == "" && strings.HasPrefix(l.text, "* ") {
				continue
			}
			if strings.HasPrefix(l.text, prefix) {
				return l, nil
			}
		case <-ctx.Done():
			return stamped{}, fmt.Errorf("client %s waiting for %q: %w", c.name, prefix, ctx.Err())
		}
	}
}

// say sends lines "<tag> k" for k in [from, to).
func (c *client) say(tag string, from, to int) error {
	var b strings.Builder
	for k := from; k < to; k++ {
		fmt.Fprintf(&b, "%s %d\n", tag, k)
	}
	_, err := io.WriteString(c.conn, b.String())
	return err
}

// hear reads n chat lines and checks that, per speaker, they come once
// each and in order: want[speaker] is the next number expected of it.
func (c *client) hear(ctx context.Context, n int, want map[string]int) error {
	for range n {
		l, err := c.next(ctx, "")
		if err != nil {
			return err
		}
		who, text, _ := strings.Cut(l.text, ": ")
		tag, num, _ := strings.Cut(text, " ")
		k, _ := strconv.Atoi(num)
		if k != want[who+"/"+tag] {
			return fmt.Errorf("client %s: %q, want line %d of %s", c.name, l.text, want[who+"/"+tag], who)
		}
		want[who+"/"+tag]++
	}
	return nil
}

// runDemo is the default run.
func runDemo(cfg config, out io.Writer) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var nodes []*node
	defer func() {
		for _, n := range nodes {
			serr := n.stop(context.Background())
			if err != nil {
				err = fmt.Errorf("%w\nnode %s said:\n%s", err, n.addr, n.stderr.String())
			} else if serr != nil {
				err = serr
			}
		}
	}()
	start := time.Now()
	if nodes, err = startNodes(ctx, 3); err != nil {
		return err
	}
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.addr
	}
	// All three see three members and agree on where the room is.
	err = waitAll(ctx, nodes, "three members and the room", func(l string, m int, r string) bool {
		return l != "" && m == 3 && r != ""
	})
	if err != nil {
		return err
	}
	err = waitAll(ctx, nodes, "agreement on the room", func(_ string, _ int, r string) bool {
		_, _, r0, _ := nodes[0].state()
		return r == r0
	})
	if err != nil {
		return err
	}
	_, _, host, _ := nodes[0].state()
	fmt.Fprintf(out, "3 nodes up in %v: %s; room %q on node %s\n", time.Since(start).Round(time.Millisecond), strings.Join(addrs, " "), roomName, host)

	clients := make([]*client, len(nodes))
	for i, n := range nodes {
		listen, _, _, _ := n.state()
		if clients[i], err = dial(listen); err != nil {
			return err
		}
		defer clients[i].conn.Close()
		if _, err := clients[i].next(ctx, "* welcome"); err != nil {
			return err
		}
	}
	// Wait for every join notice to be in before chatting: a client on
	// node i has heard of the joins after its own.
	for i, c := range clients {
		for range len(clients) - 1 - i {
			if _, err := c.next(ctx, "* "); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(out, "a client on each node: %d lines each\n", cfg.lines)
	heard := make([]map[string]int, len(clients))
	for i := range heard {
		heard[i] = map[string]int{}
	}
	if err := chat(ctx, clients, heard, "line", 0, cfg.lines); err != nil {
		return err
	}
	fmt.Fprintf(out, "every client heard all %d lines, each once, in order\n", len(clients)*cfg.lines)

	if cfg.measure > 0 {
		if err := measure(ctx, out, clients, nodes, host, cfg.measure); err != nil {
			return err
		}
	}

	// Kill the room's node.
	var victim int
	for i, n := range nodes {
		if n.addr == host {
			victim = i
		}
	}
	killed := time.Now()
	nodes[victim].kill()
	fmt.Fprintf(out, "killed node %s (the room's)\n", host)
	if _, err := clients[victim].next(ctx, "\x00"); err != io.EOF {
		return fmt.Errorf("client of the killed node: %v, want the end of its stream", err)
	}
	survivors := slices.Delete(slices.Clone(clients), victim, victim+1)
	heardS := slices.Delete(slices.Clone(heard), victim, victim+1)
	live := slices.Delete(slices.Clone(nodes), victim, victim+1)
	nodes = live // the killed one is not stopped again
	// The survivors chat on at once: what they say while the room is
	// down is kept by their members and said again to the new room.
	if err := chat(ctx, survivors, heardS, "after", 0, cfg.lines); err != nil {
		return err
	}
	served := time.Since(killed)
	err = waitAll(ctx, live, "the room elsewhere", func(_ string, m int, r string) bool {
		return m == 2 && r != host && r != ""
	})
	if err != nil {
		return err
	}
	_, _, newHost, _ := live[0].state()
	fmt.Fprintf(out, "room active again on node %s; the %d surviving clients heard all %d lines said since the kill, %v after it\n",
		newHost, len(survivors), len(survivors)*cfg.lines, served.Round(time.Millisecond))

	// Leave: half-close; the room answers with the farewell.
	for _, c := range survivors {
		if err := c.conn.CloseWrite(); err != nil {
			return err
		}
		bye, err := c.next(ctx, "* bye ")
		if err != nil {
			return err
		}
		if want := fmt.Sprintf(", lines relayed: %d", 2*cfg.lines); !strings.HasSuffix(bye.text, want) {
			return fmt.Errorf("farewell %q, want it to end %q", bye.text, want)
		}
		if _, err := c.next(ctx, "\x00"); err != io.EOF {
			return fmt.Errorf("after the farewell: %v, want the end of the stream", err)
		}
	}
	fmt.Fprintf(out, "farewells %d; stopping the nodes\n", len(survivors))
	return nil
}

// chat has every client say lines [from, to) tagged tag, and hear every
// client's.
func chat(ctx context.Context, clients []*client, heard []map[string]int, tag string, from, to int) error {
	for _, c := range clients {
		if err := c.say(tag, from, to); err != nil {
			return err
		}
	}
	errs := make(chan error, len(clients))
	for i, c := range clients {
		go func() { errs <- c.hear(ctx, len(clients)*(to-from), heard[i]) }()
	}
	for range clients {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}
