package actors

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
)

// membershipTimeout bounds one poll of one seed: a seed that has not
// answered by then is down for this round.
const membershipTimeout = 2 * time.Second

// membership is actornet's cluster membership provider, the one a
// cluster uses unless ClusterConfig.Provider names another: every node
// answers GET /_health on its provider endpoint (ProviderPort) with
// what it is (memberInfo), and polls every seed's endpoint every
// Refresh; the members are this node and the seeds that answered, of
// its cluster. With RemoteTLS, the endpoint is HTTPS and demands a
// client certificate the node trusts, and the poller presents the
// node's and verifies the seed's (its address included), as remote's
// gRPC does. The poller's goroutine alone publishes the topology after
// StartMember; Shutdown ends it and the endpoint, and waits for both.
type membership struct {
	name    string
	refresh time.Duration
	seeds   []string // the other seeds' endpoints, "ip:port"
	scheme  string   // "http" or "https"
	client  *http.Client
	ep      *providerServer
	log     *slog.Logger

	c    *cluster.Cluster
	self *cluster.Member
	// down is each seed's failure at its last poll, nil when it answered
	// (the poller's alone).
	down map[string]error

	ctx      context.Context
	cancel   context.CancelFunc
	polling  sync.WaitGroup
	shutdown sync.Once
}

var _ cluster.ClusterProvider = (*membership)(nil)

// memberInfo is what a node's provider endpoint answers: the JSON that
// Proto.Actor's automanaged provider answers too.
type memberInfo struct {
	ID             string   `json:"id"`
	Address        string   `json:"address"`
	AutoManagePort int      `json:"auto_manage_port"`
	Port           int      `json:"port"`
	Kinds          []string `json:"kinds"`
	ClusterName    string   `json:"cluster_name"`
}

// newMembership returns the membership provider of a node on node (an
// IP address and a fixed port), with its endpoint bound on the same
// address, port ProviderPort, so that a port in use fails Start.
func newMembership(cfg ClusterConfig, node netip.AddrPort, sec *RemoteTLS, log *slog.Logger) (*membership, error) {
	if node.Port() == 0 {
		return nil, fmt.Errorf("actornet: cluster node %q: the membership provider needs a fixed port (its HTTP endpoint is on port+1)", cfg.Node)
	}
	refresh := cfg.Refresh
	if refresh <= 0 {
		refresh = DefaultClusterRefresh
	}
	m := &membership{name: cfg.Name, refresh: refresh, scheme: "http", log: log, down: map[string]error{}}
	for _, s := range cfg.Seeds {
		seed, err := netip.ParseAddrPort(s)
		if err != nil || seed.Port() == 0 || seed.Port() == 65535 {
			return nil, fmt.Errorf("actornet: cluster seed %q: not an IP address and port", s)
		}
		if seed == node {
			continue // this node: a member of its own view without asking
		}
		ep := netip.AddrPortFrom(seed.Addr(), uint16(ProviderPort(int(seed.Port())))).String()
		if !slices.Contains(m.seeds, ep) {
			m.seeds = append(m.seeds, ep)
		}
	}
	dialer := &net.Dialer{Timeout: membershipTimeout}
	transport := &http.Transport{
		DialContext: dialer.DialContext,
		// One connection per poll: none stays open between polls (nor
		// after Stop), and each handshake sees the certificates of the
		// time.
		DisableKeepAlives:     true,
		ResponseHeaderTimeout: membershipTimeout,
	}
	if sec != nil {
		m.scheme = "https"
		transport.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			cfg := sec.clientConfig(host)
			cfg.NextProtos = []string{"http/1.1"}
			d := &tls.Dialer{NetDialer: dialer, Config: cfg}
			return d.DialContext(ctx, network, addr)
		}
	}
	m.client = &http.Client{Transport: transport, Timeout: membershipTimeout}
	ep, err := listenProvider(netip.AddrPortFrom(node.Addr(), uint16(ProviderPort(int(node.Port())))), sec, log)
	if err != nil {
		return nil, err
	}
	m.ep = ep
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// StartMember serves this node's endpoint, polls every seed once and
// publishes the topology it found (this node and the seeds that
// answered), then goes on polling every refresh period in a goroutine
// of its own.
func (m *membership) StartMember(c *cluster.Cluster) error {
	host, port, err := c.ActorSystem.GetHostPort()
	if err != nil {
		return fmt.Errorf("actornet: cluster membership: %w", err)
	}
	m.c = c
	m.self = &cluster.Member{Id: c.ActorSystem.ID, Host: host, Port: int32(port), Kinds: c.GetClusterKinds()}
	m.ep.serve(memberInfo{
		ID: m.self.Id, Address: host, Port: port, AutoManagePort: ProviderPort(port),
		Kinds: m.self.Kinds, ClusterName: m.name,
	})
	c.MemberList.UpdateClusterTopology(m.round())
	m.polling.Add(1)
	go m.poll()
	return nil
}

// StartClient refuses: actornet's nodes are members.
func (m *membership) StartClient(*cluster.Cluster) error {
	return errors.New("actornet: cluster membership: a client is not supported, only members")
}

// Shutdown stops polling and closes the endpoint, and returns once
// their goroutines have ended. It may be called more than once.
func (m *membership) Shutdown(bool) error {
	m.shutdown.Do(func() {
		m.cancel()
		m.polling.Wait()
		m.ep.close()
		m.client.CloseIdleConnections()
	})
	return nil
}

// poll publishes the topology every refresh period until Shutdown.
func (m *membership) poll() {
	defer m.polling.Done()
	t := time.NewTimer(m.refresh)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		members := m.round()
		if m.ctx.Err() != nil {
			return
		}
		m.c.MemberList.UpdateClusterTopology(members)
		t.Reset(m.refresh)
	}
}

// round polls every seed at once and returns the members: this node
// and every seed that answered as a node of this cluster. A seed that
// stops answering is logged once (Warn), and once when it answers again
// (Info).
func (m *membership) round() []*cluster.Member {
	answers := make([]*cluster.Member, len(m.seeds))
	errs := make([]error, len(m.seeds))
	var wg sync.WaitGroup
	for i, seed := range m.seeds {
		wg.Go(func() { answers[i], errs[i] = m.ask(seed) })
	}
	wg.Wait()
	members := []*cluster.Member{m.self}
	for i, seed := range m.seeds {
		m.note(seed, errs[i])
		if a := answers[i]; a != nil && !slices.ContainsFunc(members, func(x *cluster.Member) bool { return x.Id == a.Id }) {
			members = append(members, a)
		}
	}
	return members
}

// note logs a seed's change of state.
func (m *membership) note(seed string, err error) {
	prev, polled := m.down[seed]
	m.down[seed] = err
	switch {
	case err != nil && (!polled || prev == nil):
		if m.ctx.Err() == nil {
			m.log.Warn("actornet: cluster seed does not answer; not a member until it does", slog.String("seed", seed), slog.Any("error", err))
		}
	case err == nil && polled && prev != nil:
		m.log.Info("actornet: cluster seed answers again", slog.String("seed", seed))
	}
}

// ask polls one seed's endpoint.
func (m *membership) ask(seed string) (*cluster.Member, error) {
	ctx, cancel := context.WithTimeout(m.ctx, membershipTimeout)
	defer cancel()
	url := m.scheme + "://" + seed + "/_health"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("actornet: cluster membership: poll %s: %w", url, err)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("actornet: cluster membership: poll: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("actornet: cluster membership: poll %s: status %s", url, resp.Status)
	}
	var n memberInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&n); err != nil {
		return nil, fmt.Errorf("actornet: cluster membership: poll %s: %w", url, err)
	}
	switch {
	case n.ClusterName != m.name:
		return nil, fmt.Errorf("actornet: cluster membership: poll %s: a node of cluster %q, not %q", url, n.ClusterName, m.name)
	case n.ID == "" || n.Address == "" || n.Port <= 0 || n.Port > 65535:
		return nil, fmt.Errorf("actornet: cluster membership: poll %s: no member id, address and port in %+v", url, n)
	}
	return &cluster.Member{Id: n.ID, Host: n.Address, Port: int32(n.Port), Kinds: n.Kinds}, nil
}

// providerServer is a node's membership endpoint: a listener actornet
// binds on the node's own address (not on every interface), served by
// net/http (HTTPS with RemoteTLS) once the member starts.
type providerServer struct {
	l       net.Listener
	srv     *http.Server
	serving sync.WaitGroup
	once    sync.Once
}

// listenProvider binds the endpoint on addr.
func listenProvider(addr netip.AddrPort, sec *RemoteTLS, log *slog.Logger) (*providerServer, error) {
	l, err := net.Listen("tcp", addr.String())
	if err != nil {
		return nil, fmt.Errorf("actornet: cluster provider endpoint: %w", err)
	}
	if sec != nil {
		cfg := sec.serverConfig()
		l = tls.NewListener(l, cfg)
	}
	return &providerServer{
		l: l,
		srv: &http.Server{
			// Bounds a handshake and a request, from a peer too slow
			// or one that never sends a byte.
			ReadHeaderTimeout: membershipTimeout,
			WriteTimeout:      membershipTimeout,
			// Refused handshakes (peers without a certificate this
			// node trusts) are not the node's errors.
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		},
	}, nil
}

// serve answers GET /_health with info until close.
func (p *providerServer) serve(info memberInfo) {
	body, err := json.Marshal(info)
	if err != nil {
		panic(fmt.Sprintf("actornet: cluster membership: %v", err)) // plain strings and numbers
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	p.srv.Handler = mux
	// No keep-alive: every poll is a connection of its own, so that none
	// stays open after either side stops.
	p.srv.SetKeepAlivesEnabled(false)
	p.serving.Add(1)
	go func() {
		defer p.serving.Done()
		_ = p.srv.Serve(p.l)
	}()
}

// close stops serving, closes the listener and every connection, and
// waits for the server's goroutine. It may be called more than once,
// and before serve.
func (p *providerServer) close() {
	p.once.Do(func() {
		_ = p.srv.Close()
		_ = p.l.Close()
		p.serving.Wait()
	})
}
