package actors_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/test/testkit"
	"github.com/actornet/actornet/test/testkit/certs"
)

// echoKind answers a Spawn with a Spawned naming the activation.
func echoKind() *cluster.Kind {
	return cluster.NewKind("echo", actor.PropsFromFunc(func(ctx actor.Context) {
		if m, ok := ctx.Message().(*messages.Spawn); ok {
			ctx.Respond(&messages.Spawned{Ref: messages.NewRef(ctx.Self()), Status: &messages.Status{Op: m.GetKind()}})
		}
	}))
}

// TestClusterConfigErrors: a configuration Start cannot use fails Start
// with an error naming what is wrong, before the member starts, and
// leaves nothing running.
func TestClusterConfigErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		name string
		cfg  actors.ClusterConfig
		want string
	}{
		{name: "no name", cfg: actors.ClusterConfig{Node: "127.0.0.1:7100"}, want: "no name"},
		{name: "bad node", cfg: actors.ClusterConfig{Name: "c", Node: "nowhere"}, want: "not an IP address"},
		{name: "host name node", cfg: actors.ClusterConfig{Name: "c", Node: "localhost:7100"}, want: `node "localhost:7100": not an IP address`},
		{name: "wildcard node", cfg: actors.ClusterConfig{Name: "c", Node: "0.0.0.0:7100"}, want: "0.0.0.0:7100"}, // refused as exposed, or as no IP address to reach
		{name: "host name seed", cfg: actors.ClusterConfig{Name: "c", Node: testkit.ClusterAddr(t), Seeds: []string{"localhost:7100"}}, want: `seed "localhost:7100"`},
		{name: "node port taken", cfg: actors.ClusterConfig{Name: "c", Node: busy.Addr().String()}, want: "address already in use"},
		{name: "port 0", cfg: actors.ClusterConfig{Name: "c", Node: "127.0.0.1:0"}, want: "fixed port"},
		{name: "bad seed", cfg: actors.ClusterConfig{Name: "c", Node: testkit.ClusterAddr(t), Seeds: []string{"seed"}}, want: `seed "seed": not an IP address`},
		{
			name: "provider port taken",
			cfg:  actors.ClusterConfig{Name: "c", Node: nodeBelowTaken(t)},
			want: "provider endpoint",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys, err := actors.Start(actors.WithCluster(tc.cfg))
			if err == nil {
				_ = sys.StopNow()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start: %v; want it to say %q", err, tc.want)
			}
		})
	}
}

// nodeBelowTaken returns a free 127.0.0.1:P whose P+1 (its provider's
// port) is held by a listener until the test ends.
func nodeBelowTaken(t *testing.T) string {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		next, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+1)))
		l.Close()
		if err == nil {
			t.Cleanup(func() { next.Close() })
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		}
	}
	t.Fatal("no free port below a free one")
	return ""
}

// TestClusterOneNode: a node alone is a member of its cluster (Members),
// activates an identity of its kind on a request by kind and name,
// answers the membership provider's health check on its port+1, and
// leaves on Stop: the health endpoint closes, and nothing is left running
// (TestMain's leak check).
func TestClusterOneNode(t *testing.T) {
	node := testkit.ClusterAddr(t)
	sys, err := actors.Start(actors.WithCluster(actors.ClusterConfig{
		Name: "one", Node: node, Seeds: []string{node}, Kinds: []*cluster.Kind{echoKind()},
	}))
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = sys.StopNow()
		}
	}()
	if sys.Address() != node {
		t.Fatalf("Address = %s, want %s", sys.Address(), node)
	}
	// The provider's first poll, before Start returns, found this node.
	if len(sys.Members()) != 1 {
		t.Fatalf("Members = %v, want this node", sys.Members())
	}
	if m := sys.Members()[0]; m.Address() != node || !strings.Contains(strings.Join(m.GetKinds(), ","), "echo") {
		t.Fatalf("member %v: want %s hosting echo", m, node)
	}
	pid, err := sys.Get("a", "echo")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Get("a", "nosuchkind"); err == nil || !strings.Contains(err.Error(), "nosuchkind/a: no activation") {
		t.Fatalf("Get of a kind no member hosts: %v", err)
	}
	res, err := sys.Root().RequestFuture(pid, &messages.Spawn{Kind: "hello"}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	sp, ok := res.(*messages.Spawned)
	if !ok || sp.GetStatus().GetOp() != "hello" || sp.GetRef().GetAddress() != node {
		t.Fatalf("Request = %v; want the echo of an activation on %s", res, node)
	}

	host, port, _ := net.SplitHostPort(node)
	p, _ := strconv.Atoi(port)
	health := "http://" + net.JoinHostPort(host, strconv.Itoa(actors.ProviderPort(p))) + "/_health"
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := client.Get(health)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var n struct {
		Cluster string `json:"cluster_name"`
		Port    int    `json:"port"`
	}
	if err := json.Unmarshal(body, &n); err != nil || n.Cluster != "one" || n.Port != p {
		t.Fatalf("health = %s (%v); want cluster one, port %d", body, err, p)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sys.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if _, err := client.Get(health); err == nil {
		t.Fatal("the provider's endpoint still answers after Stop")
	}
}

// staticProvider is a cluster.ClusterProvider of one member, this one:
// what a provider of your own plugs into ClusterConfig.Provider.
type staticProvider struct{ shutdown chan bool }

func (p *staticProvider) StartMember(c *cluster.Cluster) error {
	host, port, err := c.ActorSystem.GetHostPort()
	if err != nil {
		return err
	}
	c.MemberList.UpdateClusterTopology([]*cluster.Member{{
		Id: c.ActorSystem.ID, Host: host, Port: int32(port), Kinds: c.GetClusterKinds(),
	}})
	return nil
}

func (p *staticProvider) StartClient(*cluster.Cluster) error { return nil }

func (p *staticProvider) Shutdown(graceful bool) error {
	p.shutdown <- graceful
	return nil
}

// TestClusterOwnProvider: a provider given in ClusterConfig.Provider is
// the membership (no automanaged endpoint, so the node may take a port
// the kernel picks), and Stop shuts it down gracefully.
func TestClusterOwnProvider(t *testing.T) {
	p := &staticProvider{shutdown: make(chan bool, 1)}
	sys, err := actors.Start(actors.WithCluster(actors.ClusterConfig{
		Name: "own", Node: "127.0.0.1:0", Provider: p, Kinds: []*cluster.Kind{echoKind()},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if ms := sys.Members(); len(ms) != 1 || ms[0].Address() != sys.Address() {
		t.Fatalf("Members = %v, want this node (%s)", ms, sys.Address())
	}
	if pid, err := sys.Get("b", "echo"); err != nil || pid.Address != sys.Address() {
		t.Fatalf("Get = %v, %v; want an activation here", pid, err)
	}
	if err := sys.StopNow(); err != nil {
		t.Fatal(err)
	}
	select {
	case graceful := <-p.shutdown:
		if !graceful {
			t.Fatal("provider shut down, not gracefully")
		}
	default:
		t.Fatal("Stop did not shut the provider down")
	}
}

// TestClusterOneNodeTLS: a node with mutual TLS from certificate files is
// a member of its cluster as soon as Start returns, and its membership
// endpoint is HTTPS, answering only a client with a certificate the
// node trusts: plain HTTP and a client without a certificate get
// nothing.
func TestClusterOneNodeTLS(t *testing.T) {
	ca, err := certs.NewCA("nodes")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(certs.Leaf{Hosts: []string{"127.0.0.1"}, Name: "node"})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, caFile, err := ca.WriteFiles(t.TempDir(), cert)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := actors.MutualTLSFiles(certFile, keyFile, caFile)
	if err != nil {
		t.Fatal(err)
	}
	node := testkit.ClusterAddr(t)
	began := time.Now()
	sys := testkit.System(t, actors.WithRemoteTLS(sec), actors.WithCluster(actors.ClusterConfig{
		Name: "secure", Node: node, Seeds: []string{node}, Kinds: []*cluster.Kind{echoKind()},
	}))
	t.Logf("Start took %v", time.Since(began).Round(time.Millisecond))
	if ms := sys.Members(); len(ms) != 1 || ms[0].Address() != node {
		t.Fatalf("Members = %v, want this node", ms)
	}
	host, port, _ := net.SplitHostPort(node)
	p, _ := strconv.Atoi(port)
	endpoint := net.JoinHostPort(host, strconv.Itoa(actors.ProviderPort(p))) + "/_health"
	get := func(scheme string, cfg *tls.Config) (string, error) {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}, Timeout: 5 * time.Second}
		resp, err := client.Get(scheme + "://" + endpoint)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return string(body), err
	}
	client, err := ca.Issue(certs.Leaf{Name: "client", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	if body, err := get("https", &tls.Config{Certificates: []tls.Certificate{client}, RootCAs: ca.Pool}); err != nil || !strings.Contains(body, `"cluster_name":"secure"`) {
		t.Fatalf("a trusted client: %q, %v", body, err)
	}
	if body, err := get("https", &tls.Config{RootCAs: ca.Pool}); err == nil {
		t.Fatalf("a client without a certificate was answered %q", body)
	}
	if body, err := get("http", nil); err == nil && strings.Contains(body, "secure") {
		t.Fatalf("plain HTTP was answered %q", body)
	}
}

// WaitMembers returns once the node sees as many members as asked, and
// says how many it saw when its context ends first.
func TestClusterWaitMembers(t *testing.T) {
	node := testkit.ClusterAddr(t)
	sys := testkit.System(t, actors.WithCluster(actors.ClusterConfig{Name: "wait", Node: node, Seeds: []string{node}}))
	ctx := testkit.Context(t)
	if err := sys.WaitMembers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := sys.WaitMembers(short, 2); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "(1 so far)") {
		t.Fatalf("two members of one: %v", err)
	}
	plain := testkit.System(t)
	if err := plain.WaitMembers(ctx, 1); err == nil {
		t.Fatal("a system outside a cluster waited")
	}
}
