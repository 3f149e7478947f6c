//go:build linux

// The -long flag is defined in a Linux-only file of this package.

package test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/actornet/actornet/test/testkit"
)

// chatClient is a client of TestClusterChat, with a goroutine reading
// its lines.
type chatClient struct {
	name    string
	conn    *net.TCPConn
	lines   chan string // closed at the end of the stream
	heard   map[string]int
	notices []string // "* " lines next skipped
}

func dialChat(t *testing.T, addr string) *chatClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, testkit.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &chatClient{name: c.LocalAddr().String(), conn: c.(*net.TCPConn), lines: make(chan string, 256), heard: map[string]int{}}
	go func() {
		defer close(cl.lines)
		r := bufio.NewReader(c)
		for {
			s, err := r.ReadString('\n')
			if err != nil {
				return
			}
			cl.lines <- strings.TrimSuffix(s, "\n")
		}
	}()
	return cl
}

// next returns the next line with prefix, skipping notices unless asked
// for them; io.EOF at the end of the stream.
func (c *chatClient) next(prefix string) (string, error) {
	deadline := time.After(testkit.Timeout)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				return "", io.EOF
			}
			if prefix == "" && strings.HasPrefix(l, "* ") {
				c.notices = append(c.notices, l)
				continue
			}
			if strings.HasPrefix(l, prefix) {
				return l, nil
			}
		case <-deadline:
			return "", fmt.Errorf("client %s: no line %q in time", c.name, prefix)
		}
	}
}

// noticed waits for a notice starting with prefix, among those next
// skipped first.
func (c *chatClient) noticed(prefix string) error {
	for i, l := range c.notices {
		if strings.HasPrefix(l, prefix) {
			c.notices = append(c.notices[:i], c.notices[i+1:]...)
			return nil
		}
	}
	_, err := c.next(prefix)
	return err
}

// say sends lines "tag k" for k in [0, n).
func (c *chatClient) say(t *testing.T, tag string, n int) {
	t.Helper()
	var b strings.Builder
	for k := range n {
		fmt.Fprintf(&b, "%s %d\n", tag, k)
	}
	if _, err := io.WriteString(c.conn, b.String()); err != nil {
		t.Fatal(err)
	}
}

// hear reads n chat lines: each speaker's must come once each, in order.
func (c *chatClient) hear(n int) error {
	for range n {
		l, err := c.next("")
		if err != nil {
			return err
		}
		who, text, _ := strings.Cut(l, ": ")
		tag, num, _ := strings.Cut(text, " ")
		k, _ := strconv.Atoi(num)
		if want := c.heard[who+"/"+tag]; k != want {
			return fmt.Errorf("client %s heard %q, want line %d of %s %s", c.name, l, want, who, tag)
		}
		c.heard[who+"/"+tag]++
	}
	return nil
}

// chatRound has each client say n lines tagged tag and hear everyone's.
func chatRound(t *testing.T, clients []*chatClient, tag string, n int) {
	t.Helper()
	for _, c := range clients {
		c.say(t, tag, n)
	}
	errs := make(chan error, len(clients))
	for _, c := range clients {
		go func() { errs <- c.hear(len(clients) * n) }()
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestClusterChat: three nodes, each another OS process, serve one room
// that is a cluster identity, with a client on each. Every line reaches
// every client. The room's node is killed: the survivors see the
// membership drop to two, the room activates again on one of them, and
// the surviving clients hear every line said since (said at once, while
// the room is still down), once each and in order. Then the node that
// hosts the room leaves gracefully (Stop): the last node's client goes on
// in the room, now on its own node, and leaves with the farewell that
// counts all its lines. Every node that stops does so with no goroutine
// or fd left (its own leak check).
//
// It takes about 5 s (a second for each node to join, half a second for
// the room to come back, two for the nodes to stop: remote's endpoint
// writer sleeps two seconds after a failed dial, and nothing wakes it),
// so it runs with -long (CI: go test -race -run ClusterChat ./test -args
// -long).
func TestClusterChat(t *testing.T) {
	if !*long {
		t.Skip("three node processes, about 5 s: runs with -long")
	}
	start := time.Now()
	nodes := startCluster(t, 3)
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.addr
	}
	t.Cleanup(func() { stopClusterNodes(t, nodes) })
	var host string
	clients := make([]*chatClient, len(nodes))
	for i, n := range nodes {
		listen, room := n.await(t, "three members and the room", func(m int, r string) bool { return m == 3 && r != "" })
		if host == "" {
			host = room
		}
		clients[i] = dialChat(t, listen)
		if _, err := clients[i].next("* welcome"); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nodes {
		n.await(t, "agreement on the room", func(_ int, r string) bool { return r == host })
	}
	for i, c := range clients { // every join is in before anyone talks
		for range len(clients) - 1 - i {
			if _, err := c.next("* "); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("%d nodes up, room on %s: %v", len(nodes), host, time.Since(start).Round(time.Millisecond))
	const lines = 20
	chatRound(t, clients, "before", lines)

	var survivors []*chatClient
	var live []*clusterNode
	var victim *chatClient
	for i, n := range nodes {
		if n.addr == host {
			victim = clients[i]
			n.kill()
		} else {
			survivors, live = append(survivors, clients[i]), append(live, n)
		}
	}
	if victim == nil {
		t.Fatalf("the room's node %s is none of %v", host, addrs)
	}
	if _, err := victim.next("\x00"); err != io.EOF {
		t.Fatalf("client of the killed node: %v, want the end of its stream", err)
	}
	killed := time.Now()
	chatRound(t, survivors, "after", lines)
	t.Logf("survivors heard every line said since the kill %v after it", time.Since(killed).Round(time.Millisecond))
	for _, c := range survivors { // the victim died with the room: the new one says so
		if err := c.noticed("* " + victim.conn.LocalAddr().String() + " left"); err != nil {
			t.Fatal(err)
		}
	}
	var newHost string
	for _, n := range live {
		_, newHost = n.await(t, "two members and the room elsewhere", func(m int, r string) bool { return m == 2 && r != host && r != "" })
	}

	// The node that hosts the room now leaves the cluster gracefully
	// (Stop): the last node sees the membership drop to one, the room
	// activates there, and its client goes on.
	var last *chatClient
	var lastNode, leaving *clusterNode
	for i, n := range live {
		if n.addr == newHost {
			leaving = n
		} else {
			last, lastNode = survivors[i], n
		}
	}
	if last == nil || leaving == nil {
		t.Fatalf("the room's node %s is not one of the two survivors", newHost)
	}
	left := time.Now()
	leaving.stdin.Close() // it stops, leaving the cluster
	chatRound(t, []*chatClient{last}, "last", lines)
	t.Logf("the last client heard its lines %v after the room's node began to leave", time.Since(left).Round(time.Millisecond))
	leaving.wait(t)
	lastNode.await(t, "one member and the room on it", func(m int, r string) bool { return m == 1 && r == lastNode.addr })
	if err := last.conn.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	bye, err := last.next("* bye ")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(", lines relayed: %d", 3*lines); !strings.HasSuffix(bye, want) {
		t.Fatalf("farewell %q, want it to end %q", bye, want)
	}
	if _, err := last.next("\x00"); err != io.EOF {
		t.Fatalf("after the farewell: %v, want the end of the stream", err)
	}
	t.Logf("chat done: %v; the nodes stop and check for leaks", time.Since(start).Round(time.Millisecond))
}
