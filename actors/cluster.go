package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/types/known/emptypb"
)

// ClusterConfig is how a system joins a Proto.Actor cluster (WithCluster).
// The zero value of each field but Name and Node is useful.
type ClusterConfig struct {
	// Name is the cluster's name: nodes of other names are not members.
	Name string
	// Node is this node's address, "ip:port" (an IP address, not a name
	// nor a wildcard: other members must reach it at exactly that
	// address): its Proto.Actor remote (gRPC) endpoint, which other
	// members dial. With actornet's membership provider (no Provider),
	// the port must be fixed (not 0), and the provider's endpoint
	// listens on the same host, port+1 (ProviderPort).
	Node string
	// Seeds are the members' Node addresses the membership provider
	// polls, each at its port+1, "ip:port" as Node. It knows no member it
	// does not poll: list every node that may be a member (Node itself is
	// a member whether listed or not). A node missing from another's list is
	// never a member for that one: nodes whose lists differ see different
	// memberships for good, and may each host their own copy of an
	// identity. Unused with a Provider.
	Seeds []string
	// Kinds are the virtual actor (grain) kinds this node hosts, as
	// cluster.NewKind gives them. A member without a kind never
	// activates an identity of that kind.
	Kinds []*cluster.Kind
	// Provider, if not nil, is the membership provider in place of
	// actornet's: any cluster.ClusterProvider (Proto.Actor's automanaged,
	// consul, etcd, k8s or zk packages, or one of your own) plugs in
	// here, and Seeds and Refresh are then unused; it secures its own
	// traffic, if at all (WithRemoteTLS secures remote's). Start then
	// returns after Proto.Actor's StartMember, which waits a second for
	// the provider to find the members. Stop calls its Shutdown(true).
	Provider cluster.ClusterProvider
	// Lookup is the identity lookup; nil means disthash (rendezvous
	// hashing over the members that host the kind, no storage).
	Lookup cluster.IdentityLookup
	// Refresh is how often the membership provider polls every seed; a
	// node that stops answering (within two seconds) leaves the topology
	// at that poll. Zero means DefaultClusterRefresh.
	Refresh time.Duration
	// Served are protobuf package prefixes ("myapp.") of the kinds'
	// messages: a node decodes only actornet's, Proto.Actor's and the
	// cluster's own types ("actornet.", "actor.", "cluster.") unless told
	// more here.
	Served []string
	// Options are further Proto.Actor cluster options (request timeout,
	// gossip and heartbeat settings, ...).
	Options []cluster.ConfigOption
}

// DefaultClusterRefresh is how often the membership provider polls the
// seeds unless ClusterConfig.Refresh says otherwise.
const DefaultClusterRefresh = 500 * time.Millisecond

// ProviderPort is the port of the membership provider's endpoint for a
// node on nodePort: the next one. It answers GET /_health with the
// node's cluster name, member id, host, port and kinds (JSON, as
// Proto.Actor's automanaged provider does), over HTTPS with a client
// certificate the node trusts when the node has WithRemoteTLS, over
// plain HTTP otherwise.
func ProviderPort(nodePort int) int { return nodePort + 1 }

// WithCluster makes the system a member of a Proto.Actor cluster: remote
// on cfg.Node (as WithRemote, which it replaces: other nodes may spawn
// socket actors here too), membership through actornet's provider (or
// cfg.Provider), identities through disthash (or cfg.Lookup).
//
// actornet's membership provider polls every seed's endpoint
// (ProviderPort) every cfg.Refresh; the members are this node and the
// seeds that answered as nodes of cfg.Name. With WithRemoteTLS, the
// cluster's gRPC traffic and the membership polls both run over mutual
// TLS with the same certificates: a node without a certificate the
// others trust gets no answer, and is never a member. A seed that stops
// answering is logged once at Warn, and once at Info when it answers
// again. Start returns once the first poll has found the seeds that
// answer (at once when they do; at most two seconds for one that hangs).
//
// System.Get looks an identity up by name and kind, System.Members is
// the membership, System.Cluster is Proto.Actor's cluster for the rest.
// Stop leaves the cluster before it stops remote.
func WithCluster(cfg ClusterConfig) Option {
	return func(o *options) {
		c := cfg
		o.cluster = &c
	}
}

// Cluster returns the system's Proto.Actor cluster, or nil if it was not
// started WithCluster.
func (s *System) Cluster() *cluster.Cluster { return s.cluster }

// Members returns the cluster's members as this node last saw them (the
// last cluster.ClusterTopology on its event stream), nil for a system not
// in a cluster. Safe for concurrent use, unlike Proto.Actor's
// MemberList.Members, which reads the list its provider's goroutine
// writes without a lock.
func (s *System) Members() []*cluster.Member {
	if s.topology == nil {
		return nil
	}
	s.topology.mu.Lock()
	defer s.topology.mu.Unlock()
	return slices.Clone(s.topology.members)
}

// Get returns the PID of the activation of the identity of kind,
// activating it (Proto.Actor's cluster.Get: it blocks, up to 5 s when
// the member that owns the identity does not answer). The error says
// when there is none: the system is not a cluster member, or no member
// activated it (no member hosts the kind, or none answered in time). Use it rather than Cluster().Get from code that is not itself
// called by a topology change: disthash at the pinned version replaces
// its hash ring on each topology change without synchronisation, and Get
// reads it after taking the lock under which this node records each
// change, after the lookup has replaced its ring.
func (s *System) Get(identity, kind string) (*actor.PID, error) {
	if s == nil || s.cluster == nil {
		return nil, fmt.Errorf("actornet: cluster get %s/%s: the system is not a cluster member (WithCluster)", kind, identity)
	}
	s.topology.mu.Lock()
	//lint:ignore SA2001 an empty critical section: the lock orders this read after the last topology change
	s.topology.mu.Unlock()
	if pid := s.cluster.Get(identity, kind); pid != nil {
		return pid, nil
	}
	return nil, fmt.Errorf("actornet: cluster get %s/%s: no activation (no member hosts the kind, or none answered in time)", kind, identity)
}

// recordingProvider is the cluster's provider, with this node recording
// each topology change (System.Members) once the identity lookup has
// seen it: it subscribes when the member starts, after the lookup.
// With started set, the provider is actornet's own, and a member that
// has started returns at once (memberStarted).
type recordingProvider struct {
	cluster.ClusterProvider
	s       *System
	started bool
}

func (p *recordingProvider) StartMember(c *cluster.Cluster) error {
	p.s.Actors.EventStream.Subscribe(func(evt any) {
		if t, ok := evt.(*cluster.ClusterTopology); ok {
			p.s.topology.update(t.GetMembers())
		}
	})
	if err := p.ClusterProvider.StartMember(c); err != nil {
		return err
	}
	if p.started {
		panic(memberStarted{})
	}
	return nil
}

// topology is the last membership a node saw, and every member address
// it has seen.
type topology struct {
	mu      sync.Mutex
	members []*cluster.Member
	addrs   map[string]bool
	changed chan struct{} // closed, and replaced, at each update
}

func (t *topology) update(members []*cluster.Member) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.members = slices.Clone(members)
	for _, m := range members {
		t.addrs[m.Address()] = true
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

// WaitMembers waits until the cluster has at least n members as this
// node sees them (System.Members), or ctx ends (its error). Nodes started
// together find each other within a poll or two: a node that looks an
// identity up before the others have joined activates it on itself, and
// a node that joins later may own it on the full ring, so wait for the
// members you expect before the first lookup.
func (s *System) WaitMembers(ctx context.Context, n int) error {
	if s == nil || s.topology == nil {
		return fmt.Errorf("actornet: cluster wait for %d members: the system is not a cluster member (WithCluster)", n)
	}
	for {
		s.topology.mu.Lock()
		have, changed := len(s.topology.members), s.topology.changed
		s.topology.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("actornet: cluster wait for %d members (%d so far): %w", n, have, ctx.Err())
		}
	}
}

func (t *topology) seen() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	addrs := make([]string, 0, len(t.addrs))
	for a := range t.addrs {
		addrs = append(addrs, a)
	}
	return addrs
}

// startCluster configures and starts the cluster member.
func (s *System) startCluster(cfg ClusterConfig, sec *RemoteTLS) (err error) {
	if cfg.Name == "" {
		return errors.New("actornet: cluster: no name")
	}
	if err := checkClusterAddrs(cfg); err != nil {
		return err
	}
	served := append([]string{"cluster."}, cfg.Served...)
	rcfg, err := remoteConfig(cfg.Node, served, sec, s.guard)
	if err != nil {
		return fmt.Errorf("actornet: cluster: %w", err)
	}
	provider := cfg.Provider
	var own *membership
	if provider == nil {
		node, _ := netip.ParseAddrPort(cfg.Node) // checkClusterAddrs parsed it
		if own, err = newMembership(cfg, node, sec, s.Actors.Logger()); err != nil {
			return err
		}
		provider = own
	}
	lookup := cfg.Lookup
	if lookup == nil {
		lookup = disthash.New()
	}
	opts := append([]cluster.ConfigOption{cluster.WithKinds(cfg.Kinds...)}, cfg.Options...)
	s.topology = &topology{addrs: map[string]bool{}, changed: make(chan struct{})}
	provider = &recordingProvider{ClusterProvider: provider, s: s, started: own != nil}
	c := cluster.New(s.Actors, cluster.Configure(cfg.Name, provider, lookup, rcfg, opts...))
	if err := startMember(c); err != nil {
		if c.Remote != nil {
			func() {
				// A remote that never listened has no server to stop:
				// its Shutdown panics too.
				defer func() { _ = recover() }()
				c.Remote.Shutdown(false)
			}()
		}
		if own != nil {
			_ = own.Shutdown(false)
		}
		return fmt.Errorf("actornet: cluster member on %s: %w", cfg.Node, err)
	}
	s.cluster, s.remote = c, c.Remote
	if own != nil {
		s.providerHTTP = own.ep
	}
	return s.startNode()
}

// memberStarted is what recordingProvider panics with once actornet's
// own provider has started the member: the last thing Proto.Actor's
// StartMember does after that is sleep a second, for a provider to find
// the other members, which the membership provider did before it
// returned (its first poll).
type memberStarted struct{}

// startMember starts c's member (Proto.Actor's StartMember), which
// panics when remote cannot listen or the provider fails to start.
func startMember(c *cluster.Cluster) (err error) {
	defer func() {
		switch p := recover().(type) {
		case nil, memberStarted:
		case error:
			err = p
		default:
			err = fmt.Errorf("%v", p)
		}
	}()
	c.StartMember()
	return nil
}

// checkClusterAddrs refuses a Node or a seed that is not an IP address
// and port: other members dial the address remote reports, which is the
// resolved one, and the provider advertises Node's host as given, so a name
// ("localhost") or a wildcard ("0.0.0.0") makes a member the others
// cannot match (counted twice, or never reached). A Node whose port is
// taken is refused here too, with the address (remote would panic).
func checkClusterAddrs(cfg ClusterConfig) error {
	for i, a := range append([]string{cfg.Node}, cfg.Seeds...) {
		what := "node"
		if i > 0 {
			what = "seed"
		}
		ap, err := netip.ParseAddrPort(a)
		if err != nil || ap.Addr().IsUnspecified() || ap.Addr().Zone() != "" {
			return fmt.Errorf("actornet: cluster %s %q: not an IP address and port (a host name or a wildcard such as 0.0.0.0 is not one: other members must reach it at exactly that address)", what, a)
		}
	}
	if cfg.Provider == nil && strings.HasSuffix(cfg.Node, ":0") {
		return nil // newMembership says why port 0 will not do
	}
	l, err := net.Listen("tcp", cfg.Node)
	if err != nil {
		return fmt.Errorf("actornet: cluster node %s: %w", cfg.Node, err)
	}
	return l.Close()
}

// stopCluster leaves the cluster: what Proto.Actor's Cluster.Shutdown(true)
// does, without its two-second sleep (it waits for an ownership handover
// that disthash does not do), and with remote's hard stop after closing
// the links to the other members itself: remote's graceful stop at the
// pinned version writes flags its stream handlers read without
// synchronisation (endpointReader.suspended, endpointManager.stopped and
// connections: data races, and a nil map a late message can reach).
// Other members learn that this one left from gossip (GracefullyLeftKey)
// and from the provider (its endpoint closes); the
// identities this node hosted stop, and activate again on another member
// at their next lookup.
func (s *System) stopCluster() {
	c := s.cluster
	c.Gossip.SetState(cluster.GracefullyLeftKey, &emptypb.Empty{})
	c.Gossip.SendState()
	_ = c.Config.ClusterProvider.Shutdown(true)
	if s.providerHTTP != nil {
		s.providerHTTP.close()
	}
	c.IdentityLookup.Shutdown()
	c.Gossip.Shutdown()
	// Stop serving first: a message from another node (a request to an
	// actor that has stopped, whose dead letter answers it; a watch)
	// would open a link back to it. Then close the link to every node
	// this one knew (remote's endpoint writer stops and closes its gRPC
	// connection on this event), which the hard stop leaves open.
	c.Remote.Shutdown(false)
	for _, addr := range s.topology.seen() {
		if addr != s.Actors.Address() {
			s.Actors.EventStream.Publish(&remote.EndpointTerminatedEvent{Address: addr})
		}
	}
}

// quietProvider lowers to Debug what Proto.Actor's cluster logs as an
// error while it works as meant: Proto.Actor's automanaged provider (when
// given as ClusterConfig.Provider) on its HTTP endpoint stopping at Stop
// and on a seed that does not answer (a node that is down, which is what
// membership is there to notice), and remote's endpoint writer seeing the
// connection Stop itself closed, or the other node close it (EOF: it
// stopped). Remote nodes outside a cluster use it too.
type quietProvider struct{ slog.Handler }

func (h quietProvider) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelError && expected(r) {
		r.Level = slog.LevelDebug
		if !h.Enabled(ctx, r.Level) {
			return nil
		}
	}
	return h.Handler.Handle(ctx, r)
}

// expected reports whether an error record of the cluster is part of its
// normal work (quietProvider).
func expected(r slog.Record) bool {
	switch r.Message {
	case "Automanaged server stopping..!", "Bad connection to the node health status", "Failure reaching nodes":
		return true
	case "EndpointWriter lost connection":
		closing := false
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "error" && (strings.Contains(a.Value.String(), "the client connection is closing") || strings.HasSuffix(a.Value.String(), "EOF")) {
				closing = true
			}
			return !closing
		})
		return closing
	}
	return false
}

func (h quietProvider) WithAttrs(as []slog.Attr) slog.Handler {
	return quietProvider{h.Handler.WithAttrs(as)}
}

func (h quietProvider) WithGroup(name string) slog.Handler {
	return quietProvider{h.Handler.WithGroup(name)}
}

// Enabled lets every level through to Handle, which decides after
// lowering; the wrapped handler's level still applies there.
func (h quietProvider) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError || h.Handler.Enabled(ctx, l)
}
