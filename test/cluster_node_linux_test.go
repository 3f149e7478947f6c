//go:build linux

package test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/examples/chat/chatroom"
	"github.com/actornet/actornet/test/leakcheck"
	"github.com/actornet/actornet/test/testkit"
)

// The node processes of TestClusterChat (cluster_linux_test.go): each is
// this test binary, started with clusterNodeEnv set.

// clusterNodeEnv makes this test binary a node of TestClusterChat's
// cluster instead of running tests: its value is "NODE SEEDS".
const clusterNodeEnv = "ACTORNET_TEST_CLUSTER_NODE"

// A node runs before any test, and exits: a race the race detector
// reports in Proto.Actor's own code (see knownRace) would otherwise fail
// it as a test, whatever the node's own code did.
func init() {
	if env := os.Getenv(clusterNodeEnv); env != "" {
		os.Exit(clusterNodeMain(env))
	}
}

// clusterNodeMain is one node of TestClusterChat's cluster, in a process
// of its own: a system in the cluster serving a chat room until its
// stdin closes. It prints "LISTEN <addr>", then "MEMBERS <n>" and
// "ROOM <address>" at every change it sees. It stops cleanly, with no
// goroutine or fd left (leakcheck), or exits 1.
func clusterNodeMain(env string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "cluster node:", err)
		return 1
	}
	b, err := leakcheck.Begin()
	if err != nil {
		return fail(err)
	}
	node, seeds, _ := strings.Cut(env, " ")
	sys, err := actors.Start(actors.WithCluster(actors.ClusterConfig{
		Name: "test-chat", Node: node, Seeds: strings.Split(seeds, ","), Kinds: chatroom.Kinds(),
	}))
	if err != nil {
		return fail(err)
	}
	gather, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	_ = sys.WaitMembers(gather, len(strings.Split(seeds, ","))) // the room looked up on the full ring
	cancel()
	srv, err := chatroom.Serve(context.Background(), sys, "127.0.0.1:0", "lobby")
	if err != nil {
		_ = sys.StopNow()
		return fail(err)
	}
	fmt.Printf("LISTEN %s\n", srv.Listener().Addr())
	stdin := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdin)
	}()
	tick := time.NewTicker(10 * time.Millisecond)
	members, room := -1, ""
	for running := true; running; {
		select {
		case <-stdin:
			running = false
		case <-tick.C:
		}
		if n := len(sys.Members()); n != members {
			members = n
			fmt.Printf("MEMBERS %d\n", n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		pid, err := srv.Room(ctx)
		cancel()
		if err == nil && pid != nil && pid.Address != room {
			room = pid.Address
			fmt.Printf("ROOM %s\n", room)
		}
	}
	tick.Stop()
	if err := srv.Close(context.Background()); err != nil {
		return fail(err)
	}
	if err := sys.StopNow(); err != nil {
		return fail(err)
	}
	if err := b.End(leakcheck.ClusterIgnored...); err != nil {
		return fail(err)
	}
	return 0
}

// knownRace reports whether a race the detector reported (the text of
// one report) is Proto.Actor's own at the pinned version: both accesses
// run only its code and its dependencies' (no actornet frame but the
// pass-through gRPC interceptor that checks message types). The cluster
// has several such races, which no use of it avoids; those seen here:
// remote.BlockList's IsBlocked and BlockedMembers read the blocked set
// without the RWMutex that Block writes it under (remote/blocklist.go),
// and the gossip actor reads MemberList's members (ContainsMemberID)
// without the mutex the provider's goroutine writes them under
// (cluster/member_list.go). The membership provider's call of
// MemberList.UpdateClusterTopology is a caller of Proto.Actor's code, as
// the interceptor is: an access below it is Proto.Actor's (its
// BlockedMembers read, racing the gossip actor's Block). A race with
// actornet code on either side (the door, a member, the room,
// System.Stop) is not known.
func knownRace(report string) bool {
	accesses := 0
	inAccess := false
	caller := "" // the last function of the access seen
	for _, l := range strings.Split(report, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case strings.Contains(t, " at 0x") && strings.Contains(t, " by "):
			accesses++
			inAccess = true
		case strings.HasPrefix(t, "Goroutine ") && strings.Contains(t, "created at"):
			inAccess = false
		case inAccess && strings.HasPrefix(t, "github.com/actornet/") &&
			strings.HasPrefix(caller, "github.com/asynkron/protoactor-go/cluster.(*MemberList).UpdateClusterTopology("):
			inAccess = false // the rest are the provider and its callers
		case inAccess && strings.HasPrefix(t, "github.com/actornet/") &&
			!strings.HasPrefix(t, "github.com/actornet/actornet/actors.remoteConfig.onlyServedStream."):
			return false
		}
		if t != "" && !strings.HasPrefix(t, "/") {
			caller = t
		}
	}
	return accesses == 2
}

// unknownRaces returns the race reports in a node's stderr that are not
// knownRace.
func unknownRaces(stderr string) []string {
	var bad []string
	for _, r := range strings.Split(stderr, "WARNING: DATA RACE")[1:] {
		r, _, _ = strings.Cut(r, "==================")
		if !knownRace(r) {
			bad = append(bad, r)
		}
	}
	return bad
}

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

// clusterNode is a node process of TestClusterChat, and what it reported.
type clusterNode struct {
	addr    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stderr  lockedBuffer
	exited  chan error
	killed  bool
	stopped bool

	mu      sync.Mutex
	changed chan struct{}
	listen  string
	members int
	room    string
}

// startClusterNode starts a node on addr as another OS process; see
// stopClusterNodes for its end.
func startClusterNode(t *testing.T, addr string, seeds []string) *clusterNode {
	t.Helper()
	n := &clusterNode{addr: addr, exited: make(chan error, 1), changed: make(chan struct{})}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// Under -race, a node reports races but exits 0 for them: the test
	// reads its reports and fails on any but knownRace.
	cmd.Env = append(os.Environ(), clusterNodeEnv+"="+addr+" "+strings.Join(seeds, ","), "GORACE=exitcode=0")
	n.run(t, cmd, nil)
	return n
}

// run starts cmd as the node's process, its stdin a pipe (closing it
// stops the node), and reads what it prints, each line through translate
// (unless nil) into report, until it exits.
func (n *clusterNode) run(t *testing.T, cmd *exec.Cmd, translate func(string) string) {
	t.Helper()
	n.cmd = cmd
	n.cmd.Stderr = &n.stderr
	var err error
	if n.stdin, err = n.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if translate != nil {
				line = translate(line)
			}
			n.report(line)
		}
		n.exited <- n.cmd.Wait()
	}()
}

// stopClusterNodes ends every node not killed, all at once (closing its
// stdin), and fails the test unless each exits 0 with no data race but
// knownRace ones.
func stopClusterNodes(t *testing.T, nodes []*clusterNode) {
	t.Helper()
	for _, n := range nodes {
		if !n.killed && !n.stopped {
			n.stdin.Close()
		}
	}
	for _, n := range nodes {
		if !n.killed && !n.stopped {
			n.wait(t)
		}
	}
}

// wait waits for the node to exit once its stdin is closed: it must exit
// 0 (its leak check passed) with no race but knownRace ones.
func (n *clusterNode) wait(t *testing.T) {
	t.Helper()
	n.stopped = true
	select {
	case err := <-n.exited:
		if err != nil {
			t.Errorf("node %s: %v\n%s", n.addr, err, n.stderr.String())
		}
		for _, r := range unknownRaces(n.stderr.String()) {
			t.Errorf("node %s: data race:%s", n.addr, r)
		}
	case <-time.After(testkit.Timeout):
		_ = n.cmd.Process.Kill()
		<-n.exited
		t.Errorf("node %s did not exit\n%s", n.addr, n.stderr.String())
	}
}

func (n *clusterNode) report(line string) {
	f := strings.Fields(line)
	if len(f) != 2 {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	switch f[0] {
	case "LISTEN":
		n.listen = f[1]
	case "MEMBERS":
		n.members, _ = strconv.Atoi(f[1])
	case "ROOM":
		n.room = f[1]
	default:
		return
	}
	close(n.changed)
	n.changed = make(chan struct{})
}

// await waits until ok holds for what the node reported.
func (n *clusterNode) await(t *testing.T, what string, ok func(members int, room string) bool) (listen string, room string) {
	t.Helper()
	deadline := time.After(testkit.Timeout)
	for {
		n.mu.Lock()
		l, m, r, changed := n.listen, n.members, n.room, n.changed
		n.mu.Unlock()
		if l != "" && ok(m, r) {
			return l, r
		}
		select {
		case <-changed:
		case err := <-n.exited:
			n.exited <- err
			t.Fatalf("node %s exited (%v) before %s\n%s", n.addr, err, what, n.stderr.String())
		case <-deadline:
			t.Fatalf("node %s: no %s (members %d, room %q)\n%s", n.addr, what, m, r, n.stderr.String())
		}
	}
}

// startCluster starts n nodes on ports the kernel had free, and starts
// again on others when a node finds its provider's port (its own plus
// one, which nothing reserved) taken meanwhile by another socket, such
// as one of the many connections the nodes themselves open: up to five
// tries.
func startCluster(t *testing.T, n int) []*clusterNode {
	t.Helper()
	return startNodes(t, n, func(i int, addrs []string) *clusterNode { return startClusterNode(t, addrs[i], addrs) })
}

// startNodes starts n nodes with start (node i of addrs, every node's
// address) as startCluster says.
func startNodes(t *testing.T, n int, start func(i int, addrs []string) *clusterNode) []*clusterNode {
	t.Helper()
	for try := 1; ; try++ {
		addrs := make([]string, n)
		for i := range addrs {
			addrs[i] = testkit.ClusterAddr(t)
		}
		nodes := make([]*clusterNode, n)
		for i := range addrs {
			nodes[i] = start(i, addrs)
		}
		retry := false
		for _, nd := range nodes {
			err := nd.listening()
			if err == nil {
				continue
			}
			if try < 5 && strings.Contains(err.Error(), "address already in use") {
				t.Logf("try %d: %v; again on other ports", try, err)
				retry = true
				break
			}
			t.Fatal(err)
		}
		if !retry {
			return nodes
		}
		for _, nd := range nodes {
			nd.kill()
		}
	}
}

// listening waits until the node says where it listens, or returns the
// error of a node that exited first.
func (n *clusterNode) listening() error {
	deadline := time.After(testkit.Timeout)
	for {
		n.mu.Lock()
		l, changed := n.listen, n.changed
		n.mu.Unlock()
		if l != "" {
			return nil
		}
		select {
		case <-changed:
		case err := <-n.exited:
			n.exited <- err
			return fmt.Errorf("node %s exited (%v): %s", n.addr, err, n.stderr.String())
		case <-deadline:
			return fmt.Errorf("node %s did not start: %s", n.addr, n.stderr.String())
		}
	}
}

// kill ends the node with SIGKILL: it says no goodbye to the cluster.
func (n *clusterNode) kill() {
	n.killed = true
	_ = n.cmd.Process.Kill()
	err := <-n.exited
	n.exited <- err
}
