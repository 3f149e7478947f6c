package actors

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"

	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/cluster"

	"github.com/actornet/actornet/test/testkit/certs"
)

// records is a slog handler that keeps what it is given.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// take returns the records at level since the last take, as
// "message seed" lines.
func (r *records) take(level slog.Level) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.recs {
		if rec.Level != level {
			continue
		}
		line := rec.Message
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "seed" {
				line += " " + a.Value.String()
			}
			return true
		})
		out = append(out, line)
	}
	r.recs = nil
	return out
}

// nodePair returns 127.0.0.1:P, where P and P+1 (its provider's port)
// were both free.
func nodePair(t *testing.T) netip.AddrPort {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ap := l.Addr().(*net.TCPAddr).AddrPort()
		next, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(ProviderPort(int(ap.Port())))))
		l.Close()
		if err == nil {
			next.Close()
			return ap
		}
	}
	t.Fatal("no two free consecutive ports on 127.0.0.1")
	return netip.AddrPort{}
}

// seedNode serves a membership endpoint for a node on addr answering
// as a member of cluster name, until the test ends.
func seedNode(t *testing.T, addr netip.AddrPort, name string, sec *RemoteTLS) {
	t.Helper()
	ep, err := listenProvider(netip.AddrPortFrom(addr.Addr(), uint16(ProviderPort(int(addr.Port())))), sec, slog.New(&records{}))
	if err != nil {
		t.Fatal(err)
	}
	ep.serve(memberInfo{ID: "seed-" + addr.String(), Address: addr.Addr().String(), Port: int(addr.Port()), ClusterName: name, Kinds: []string{"k"}})
	t.Cleanup(ep.close)
}

// seedPoller returns the membership provider of a node on self, in cluster
// "c", polling seeds, its records, and nothing published (no cluster:
// the tests call round themselves).
func seedPoller(t *testing.T, sec *RemoteTLS, self netip.AddrPort, seeds ...netip.AddrPort) (*membership, *records) {
	t.Helper()
	cfg := ClusterConfig{Name: "c", Node: self.String(), Seeds: []string{self.String()}}
	for _, s := range seeds {
		cfg.Seeds = append(cfg.Seeds, s.String())
	}
	log := &records{}
	m, err := newMembership(cfg, self, sec, slog.New(log))
	if err != nil {
		t.Fatal(err)
	}
	m.self = &cluster.Member{Id: "self", Host: self.Addr().String(), Port: int32(self.Port())}
	t.Cleanup(func() { _ = m.Shutdown(true) })
	return m, log
}

// addrs returns the members' addresses.
func addrs(ms []*cluster.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Address())
	}
	return out
}

// TestClusterMembershipSeeds: a node is a member of its own view; a seed
// is a member while it answers as a node of the same cluster; one that
// does not answer (or answers for another cluster) is logged once at
// Warn when it goes, once at Info when it comes back, not at every
// poll.
func TestClusterMembershipSeeds(t *testing.T) {
	self, seed, foreign := nodePair(t), nodePair(t), nodePair(t)
	seedNode(t, foreign, "other", nil)
	m, log := seedPoller(t, nil, self, seed, foreign)

	for range 3 {
		if got := addrs(m.round()); len(got) != 1 || got[0] != self.String() {
			t.Fatalf("members %v, want only this node", got)
		}
	}
	warns := log.take(slog.LevelWarn)
	if len(warns) != 2 || !strings.Contains(strings.Join(warns, "\n"), "127.0.0.1:"+strconv.Itoa(ProviderPort(int(seed.Port())))) {
		t.Fatalf("after 3 polls, warnings %q; want one for each seed", warns)
	}

	seedNode(t, seed, "c", nil)
	for range 3 {
		if got := addrs(m.round()); len(got) != 2 || got[1] != seed.String() {
			t.Fatalf("members %v, want this node and %s", got, seed)
		}
	}
	if infos, warns := log.take(slog.LevelInfo), log.take(slog.LevelWarn); len(infos) != 1 || len(warns) != 0 {
		t.Fatalf("the seed came back: infos %q, warnings %q; want one info", infos, warns)
	}
}

// TestClusterMembershipStartStop: the provider's endpoint port taken
// fails newMembership, saying so; Shutdown before StartMember, and twice,
// is fine.
func TestClusterMembershipStartStop(t *testing.T) {
	self := nodePair(t)
	busy, err := net.Listen("tcp", netip.AddrPortFrom(self.Addr(), self.Port()+1).String())
	if err != nil {
		t.Fatal(err)
	}
	_, err = newMembership(ClusterConfig{Name: "c", Node: self.String()}, self, nil, slog.New(&records{}))
	busy.Close()
	if err == nil || !strings.Contains(err.Error(), "provider endpoint") {
		t.Fatalf("port taken: %v", err)
	}
	m, _ := seedPoller(t, nil, nodePair(t))
	_ = m.Shutdown(true)
	_ = m.Shutdown(true)
}

// clusterTLS is a node's mutual TLS from files ca made: its certificate
// names hosts.
func clusterTLS(t *testing.T, ca *certs.CA, trust *certs.CA, hosts ...string) RemoteTLS {
	t.Helper()
	cert, err := ca.Issue(certs.Leaf{Hosts: hosts, Name: "node"})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, caFile, err := trust.WriteFiles(t.TempDir(), cert)
	if err != nil {
		t.Fatal(err)
	}
	m, err := MutualTLSFiles(certFile, keyFile, caFile)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestClusterMembershipTLS: with mutual TLS, a seed is a member only
// for a poller with a certificate it trusts, and only when the poller
// trusts the seed's certificate for the seed's address; a plain HTTP
// poller gets nothing.
func TestClusterMembershipTLS(t *testing.T) {
	ca, other := newCA(t, "nodes"), newCA(t, "strangers")
	good, strange, misnamed := nodePair(t), nodePair(t), nodePair(t)
	sec := clusterTLS(t, ca, ca, "127.0.0.1")
	seedNode(t, good, "c", &sec)
	strangeTLS := clusterTLS(t, other, ca, "127.0.0.1") // its certificate another CA's
	seedNode(t, strange, "c", &strangeTLS)
	wrongHost := clusterTLS(t, ca, ca, "127.0.0.2") // a trusted certificate for another address
	seedNode(t, misnamed, "c", &wrongHost)

	trusted := clusterTLS(t, ca, ca, "127.0.0.1")
	m, log := seedPoller(t, &trusted, nodePair(t), good, strange, misnamed)
	if got := addrs(m.round()); len(got) != 2 || got[1] != good.String() {
		t.Fatalf("members %v, want this node and %s only", got, good)
	}
	if warns := log.take(slog.LevelWarn); len(warns) != 2 {
		t.Fatalf("warnings %q, want one for each seed it does not trust", warns)
	}

	for name, sec := range map[string]*RemoteTLS{
		"a certificate from another CA": ptr(clusterTLS(t, other, ca, "127.0.0.1")),
		"no TLS":                        nil,
	} {
		m, _ := seedPoller(t, sec, nodePair(t), good)
		if got := addrs(m.round()); len(got) != 1 {
			t.Errorf("%s: members %v, want only itself", name, got)
		}
	}

	// The endpoint, asked directly: a client with a trusted certificate
	// gets the node; without one it gets no answer.
	addr := netip.AddrPortFrom(good.Addr(), good.Port()+1).String()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: trusted.clientConfig("127.0.0.1"), DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := client.Get("https://" + addr + "/_health")
	if err != nil {
		t.Fatalf("trusted: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"cluster_name":"c"`) {
		t.Errorf("trusted: answer %s", body)
	}
	// Refused clients are asked over a bare TLS connection (served): with
	// TLS 1.3 the client's handshake ends before the server has checked
	// its certificate, so the refusal is the alert its first read meets.
	// Through net/http, the request's write may race the alert and report
	// only a closed connection.
	for name, cfg := range map[string]*tls.Config{
		"no certificate": {RootCAs: ca.Pool},
		"another CA's":   clientOf(t, other, ca.Pool),
	} {
		if err := served(addr, cfg); err == nil || !isTLSAlert(err) {
			t.Errorf("%s: %v, want the handshake refused", name, err)
		}
	}
}

// served dials addr with cfg and reports nil if the server took the
// handshake and spoke (gRPC's server sends its settings at once), or
// the error it refused it with: with TLS 1.3 the client's handshake ends
// before the server has checked its certificate, so a refusal is the
// alert the first read meets.
func served(addr string, cfg *tls.Config) error {
	cfg.NextProtos = []string{"h2"}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	return err
}

func ptr[T any](v T) *T { return &v }

// clientOf is a client config with a certificate ca signed, trusting
// roots.
func clientOf(t *testing.T, ca *certs.CA, roots *x509.CertPool) *tls.Config {
	t.Helper()
	cert, err := ca.Issue(certs.Leaf{Name: "client", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots}
}

// isTLSAlert reports whether err is the peer refusing the handshake.
func isTLSAlert(err error) bool {
	var alert tls.AlertError
	return errors.As(err, &alert) || strings.Contains(err.Error(), "remote error: tls:")
}
