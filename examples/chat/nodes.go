package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/actornet/actornet/actors"
)

// The default run's nodes: child processes running this binary in
// cluster mode (runNode), each reporting on its stdout what it sees.

// lockedBuffer is a bytes.Buffer safe to read while exec copies a
// process's output into it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// node is a child process running one chat node.
type node struct {
	cmd    *exec.Cmd
	addr   string // its cluster address (-node)
	stderr lockedBuffer
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
// membership provider's, actors.ProviderPort) the kernel has just had
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
