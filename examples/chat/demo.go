package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The default run: three nodes as child processes of this one (this
// binary, in cluster mode), a client on each, chatting; then the node
// that hosts the room is killed, the room activates again on a surviving
// node, and the surviving clients go on chatting and leave.

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
