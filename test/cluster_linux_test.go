//go:build linux

// The -long flag is defined in a Linux-only file of this package.

package test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/test/testkit"
	"github.com/actornet/actornet/test/testkit/certs"
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

// joinChat waits until every node counts them all as members and they
// agree on where the room is, then has a client join on each: it
// returns the room's node and the clients, each past its welcome. (A
// node's Start returns after its first membership poll, which may find
// the others not up yet: a room its door found then moves when they
// join, so the clients join once the nodes agree.)
func joinChat(t *testing.T, nodes []*clusterNode) (string, []*chatClient) {
	t.Helper()
	listens := make([]string, len(nodes))
	for i, n := range nodes {
		listens[i], _ = n.await(t, "all members and the room", func(m int, r string) bool { return m == len(nodes) && r != "" })
	}
	deadline := time.After(testkit.Timeout)
	var host string
	for host == "" {
		cases := []reflect.SelectCase{{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(deadline)}}
		rooms := map[string]bool{}
		for _, n := range nodes {
			n.mu.Lock()
			rooms[n.room] = true
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(n.changed)})
			n.mu.Unlock()
		}
		if len(rooms) == 1 && !rooms[""] {
			for r := range rooms {
				host = r
			}
			break
		}
		if i, _, _ := reflect.Select(cases); i == 0 {
			t.Fatalf("no agreement on the room: the nodes report %v", rooms)
		}
	}
	clients := make([]*chatClient, len(nodes))
	for i := range nodes {
		clients[i] = dialChat(t, listens[i])
		if _, err := clients[i].next("* welcome"); err != nil {
			t.Fatal(err)
		}
	}
	return host, clients
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
	host, clients := joinChat(t, nodes)
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

// tlsChatNode is a node of TestClusterChatMutualTLS: the chat example in
// cluster mode over mutual TLS, with the most members it ever reported.
type tlsChatNode struct {
	*clusterNode
	most atomic.Int32
}

// buildChat builds the chat example into a temporary directory.
func buildChat(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command to build the chat example: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "chat")
	out, err := exec.Command(gobin, "build", "-o", bin, "github.com/actornet/actornet/examples/chat").CombinedOutput()
	if err != nil {
		t.Fatalf("go build examples/chat: %v\n%s", err, out)
	}
	return bin
}

// nodeCerts writes a certificate ca signed for 127.0.0.1, its key, and
// the certificate of trusted, in a directory of their own.
func nodeCerts(t *testing.T, ca, trusted *certs.CA) (certFile, keyFile, caFile string) {
	t.Helper()
	cert, err := ca.Issue(certs.Leaf{Hosts: []string{"127.0.0.1"}, Name: "chat node"})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, caFile, err = trusted.WriteFiles(t.TempDir(), cert)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, caFile
}

// startTLSChatNode starts the chat example as a cluster node on addr
// over mutual TLS with files; it stops when its stdin closes.
func startTLSChatNode(t *testing.T, bin, addr string, seeds []string, files [3]string) *tlsChatNode {
	t.Helper()
	n := &tlsChatNode{clusterNode: &clusterNode{addr: addr, exited: make(chan error, 1), changed: make(chan struct{})}}
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0", "-node", addr, "-seeds", strings.Join(seeds, ","),
		"-cert", files[0], "-key", files[1], "-ca", files[2])
	cmd.Env = append(os.Environ(), "ACTORNET_CHAT_CHILD=1") // it stops when its stdin closes
	n.run(t, cmd, func(line string) string {
		f := strings.Fields(line)
		switch {
		case len(f) == 4 && f[0] == "NODE":
			line = "LISTEN " + f[3]
		case len(f) == 2 && f[0] == "MEMBERS":
			if m, err := strconv.Atoi(f[1]); err == nil && int32(m) > n.most.Load() {
				n.most.Store(int32(m))
			}
		}
		return line
	})
	return n
}

// startTLSChat starts the trusted nodes and the stranger, each polling
// every other, on ports the kernel had free, and on others when a
// node's provider port was taken meanwhile (see startCluster).
func startTLSChat(t *testing.T, bin string, trusted [][3]string, stranger [3]string) ([]*tlsChatNode, *tlsChatNode) {
	t.Helper()
	nodes := make([]*tlsChatNode, len(trusted)+1)
	startNodes(t, len(nodes), func(i int, addrs []string) *clusterNode {
		files := stranger
		if i < len(trusted) {
			files = trusted[i]
		}
		nodes[i] = startTLSChatNode(t, bin, addrs[i], addrs, files)
		return nodes[i].clusterNode
	})
	return nodes[:len(trusted)], nodes[len(trusted)]
}

// TestClusterChatMutualTLS: three nodes, each the chat example in
// another OS process with certificates from one CA (-ca, -cert, -key),
// form the cluster over mutual TLS, node traffic and membership alike,
// and chat across it. A fourth node, whose certificate another CA
// signed (though it trusts the nodes' CA), is on every node's seed list
// and polls them all: it never joins. The nodes' memberships never
// count it, while it is up, from their start to well past several
// membership polls after it listened, and their membership endpoints
// refuse its certificate at the handshake, while they answer one their
// CA signed. It runs with -long, as TestClusterChat.
func TestClusterChatMutualTLS(t *testing.T) {
	if !*long {
		t.Skip("four node processes over mutual TLS: runs with -long")
	}
	start := time.Now()
	bin := buildChat(t)
	ca, err := certs.NewCA("chat nodes")
	if err != nil {
		t.Fatal(err)
	}
	other, err := certs.NewCA("strangers")
	if err != nil {
		t.Fatal(err)
	}
	var trusted [][3]string
	for range 3 {
		c, k, a := nodeCerts(t, ca, ca)
		trusted = append(trusted, [3]string{c, k, a})
	}
	sc, sk, sa := nodeCerts(t, other, ca)
	nodes, stranger := startTLSChat(t, bin, trusted, [3]string{sc, sk, sa})
	all := []*clusterNode{stranger.clusterNode}
	for _, n := range nodes {
		all = append(all, n.clusterNode)
	}
	t.Cleanup(func() { stopClusterNodes(t, all) })

	plain := make([]*clusterNode, len(nodes))
	for i, n := range nodes {
		plain[i] = n.clusterNode
	}
	host, clients := joinChat(t, plain)
	for i, c := range clients {
		for range len(clients) - 1 - i {
			if _, err := c.next("* "); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("3 nodes over mutual TLS, room on %s: %v", host, time.Since(start).Round(time.Millisecond))
	chatRound(t, clients, "tls", 20)

	// The stranger has been listening since before the nodes were
	// members; each node polls it every DefaultClusterRefresh. Watch the
	// nodes' membership for several polls more: it must never grow.
	window := time.After(4 * actors.DefaultClusterRefresh)
	for watching := true; watching; {
		changes := make([]<-chan struct{}, len(nodes))
		for i, n := range nodes {
			n.mu.Lock()
			changes[i] = n.changed
			n.mu.Unlock()
			if most := n.most.Load(); most > 3 {
				t.Fatalf("node %s counted %d members: the stranger joined", n.addr, most)
			}
		}
		select {
		case <-changes[0]:
		case <-changes[1]:
		case <-changes[2]:
		case <-window:
			watching = false
		}
	}
	if _, m, _ := stranger.state(); m != 1 {
		t.Fatalf("the stranger counts %d members, want only itself", m)
	}

	// The endpoints, asked directly.
	port := func(addr string) string {
		_, p, _ := net.SplitHostPort(addr)
		n, _ := strconv.Atoi(p)
		return "127.0.0.1:" + strconv.Itoa(actors.ProviderPort(n))
	}
	health := func(addr string, client tls.Certificate, roots *x509.CertPool) error {
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{client}, RootCAs: roots}}, Timeout: testkit.Timeout}
		resp, err := c.Get("https://" + port(addr) + "/_health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	good, err := ca.Issue(certs.Leaf{Name: "operator", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := other.Issue(certs.Leaf{Name: "stranger", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if err := health(n.addr, good, ca.Pool); err != nil {
			t.Errorf("node %s, a certificate its CA signed: %v", n.addr, err)
		}
		if err := health(n.addr, bad, ca.Pool); err == nil {
			t.Errorf("node %s answered the stranger's certificate", n.addr)
		}
	}
	if err := health(stranger.addr, good, ca.Pool); err == nil {
		t.Error("the stranger's endpoint passed for a node's")
	}
	t.Logf("chat over mutual TLS done, the stranger kept out: %v", time.Since(start).Round(time.Millisecond))
}

// state returns what the node last reported.
func (n *clusterNode) state() (listen string, members int, room string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.listen, n.members, n.room
}

// raceViaProvider is a race report of a node (trimmed): Proto.Actor's
// BlockList read by MemberList.UpdateClusterTopology, which the
// membership provider calls, against the gossip actor's Block.
const raceViaProvider = `
  Write at 0x00c00024e6b8 by goroutine 200:
      github.com/asynkron/protoactor-go/remote.(*BlockList).Block()
          /mod/github.com/asynkron/protoactor-go/remote/blocklist.go:37 +0x444
      github.com/asynkron/protoactor-go/cluster.(*GossipActor).ReceiveState()
          /mod/github.com/asynkron/protoactor-go/cluster/gossip_actor.go:174 +0xc5

  Previous read at 0x00c00024e6b8 by goroutine 37:
      github.com/asynkron/protoactor-go/remote.(*BlockList).BlockedMembers()
          /mod/github.com/asynkron/protoactor-go/remote/blocklist.go:28 +0xd9
      github.com/asynkron/protoactor-go/cluster.(*MemberList).UpdateClusterTopology()
          /mod/github.com/asynkron/protoactor-go/cluster/member_list.go:137 +0xe9
      github.com/actornet/actornet/actors.(*membership).poll()
          /src/actors/membership.go:180 +0x196

  Goroutine 200 (running) created at:
      github.com/asynkron/protoactor-go/actor.goroutineDispatcher.Schedule()
          /mod/github.com/asynkron/protoactor-go/actor/dispatcher.go:13 +0x26

  Goroutine 37 (running) created at:
      github.com/actornet/actornet/actors.(*membership).StartMember()
          /src/actors/membership.go:144 +0x8dc
`

// TestClusterKnownRace: the race classifier of the node processes takes
// a race in Proto.Actor's code below the membership provider's call of
// UpdateClusterTopology as Proto.Actor's, and still refuses one where
// actornet code makes the access.
func TestClusterKnownRace(t *testing.T) {
	if !knownRace(raceViaProvider) {
		t.Fatal("a race inside Proto.Actor, below the provider's UpdateClusterTopology, not known")
	}
	ours := strings.Replace(raceViaProvider, "github.com/asynkron/protoactor-go/remote.(*BlockList).BlockedMembers()", "github.com/actornet/actornet/actors.(*membership).round()", 1)
	if knownRace(ours) {
		t.Fatal("a race where actornet code reads taken as Proto.Actor's")
	}
}
