//go:build !race

// Two nodes in one process: see tcp/remote_test.go for why these run
// without -race.

package actors

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/actornet/actornet/test/testkit/certs"
)

// nodeTLS makes a CA and a certificate it signed for a node on
// 127.0.0.1, good for serving and for dialing.
func nodeTLS(t *testing.T, ca *certs.CA) RemoteTLS {
	t.Helper()
	cert, err := ca.Issue(certs.Leaf{Hosts: []string{"127.0.0.1"}, Name: "node"})
	if err != nil {
		t.Fatal(err)
	}
	// One certificate for both ends: add the client use to the server's.
	client, err := ca.Issue(certs.Leaf{Hosts: []string{"127.0.0.1"}, Name: "node", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	m := MutualTLS(cert, ca.Pool)
	m.Client.Certificates = []tls.Certificate{client}
	return m
}

// Nodes with certificates from the CA they trust talk; a node whose
// certificate another CA signed, and a node without TLS, are refused
// at the handshake and spawn nothing.
func TestRemoteMutualTLS(t *testing.T) {
	ca, err := certs.NewCA("nodes")
	if err != nil {
		t.Fatal(err)
	}
	other, err := certs.NewCA("strangers")
	if err != nil {
		t.Fatal(err)
	}
	a := newSystem(t, WithRemote(""), WithRemoteTLS(nodeTLS(t, ca)), WithRemotePolicy(AllowAll))
	b := newSystem(t, WithRemote(""), WithRemoteTLS(nodeTLS(t, ca)), WithRemotePolicy(AllowAll))
	ctx := testCtx(t)
	pid, err := SpawnAt(ctx, b, a.Address(), testKind)
	if err != nil {
		t.Fatalf("a trusted node: %v", err)
	}
	if pid.Address != a.Address() {
		t.Fatalf("spawned at %v, want %s", pid, a.Address())
	}
	before := a.Runtime().Sockets()

	// Each of these trusts a's certificate: what refuses them is a's
	// demand for a client certificate its CA signed.
	stranger := nodeTLS(t, other)
	stranger.Client.RootCAs = ca.Pool
	anonymous := nodeTLS(t, other)
	anonymous.Client.RootCAs, anonymous.Client.Certificates = ca.Pool, nil
	for name, s := range map[string]*System{
		"a client certificate from another CA": newSystem(t, WithRemote(""), WithRemoteTLS(stranger)),
		"no client certificate":                newSystem(t, WithRemote(""), WithRemoteTLS(anonymous)),
		"no TLS":                               newSystem(t, WithRemote(""), WithRemotePolicy(AllowAll)),
	} {
		short, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := SpawnAt(short, s, a.Address(), testKind)
		cancel()
		if err == nil {
			t.Fatalf("%s: SpawnAt succeeded", name)
		}
	}
	if after := a.Runtime().Sockets(); after != before {
		t.Fatalf("a refused peer spawned %d socket actors", after-before)
	}
}

// A node refuses to listen beyond loopback without TLS, unless told the
// network is trusted; bad TLS settings are refused. (No address beyond
// loopback is bound: the check comes first.)
func TestRemoteExposure(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", "192.0.2.1:7000"} {
		if _, err := Start(WithRemote(addr)); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("WithRemote(%q) without TLS: %v", addr, err)
		}
		if err := checkExposure(addr, &options{insecureRemote: true}); err != nil {
			t.Errorf("%s with WithInsecureRemote: %v", addr, err)
		}
		if err := checkExposure(addr, &options{remoteTLS: &RemoteTLS{}}); err != nil {
			t.Errorf("%s with TLS: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "localhost:0"} {
		if err := checkExposure(addr, &options{}); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	if _, err := Start(WithRemote(""), WithRemoteTLS(RemoteTLS{Server: &tls.Config{}, Client: &tls.Config{}})); err == nil || !strings.Contains(err.Error(), "no certificate") {
		t.Errorf("TLS without a certificate: %v", err)
	}
}
