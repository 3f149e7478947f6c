//go:build !race

// Two nodes in one process: see tcp/remote_test.go for why these run
// without -race.

package actors

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	ca, other := newCA(t, "nodes"), newCA(t, "strangers")
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
	// The caller hears why, when TLS says it.
	for name, tc := range map[string]struct {
		s   *System
		why string
	}{
		"a client certificate from another CA": {newSystem(t, WithRemote(""), WithRemoteTLS(stranger)), "tls: certificate required"},
		"no client certificate":                {newSystem(t, WithRemote(""), WithRemoteTLS(anonymous)), "tls: certificate required"},
		"no TLS":                               {newSystem(t, WithRemote(""), WithRemotePolicy(AllowAll)), ""},
	} {
		short, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := SpawnAt(short, tc.s, a.Address(), testKind)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Fatalf("%s: SpawnAt: %v, want an error saying %q", name, err, tc.why)
		}
		t.Logf("%s: %v", name, err)
	}
	if after := a.Runtime().Sockets(); after != before {
		t.Fatalf("a refused peer spawned %d socket actors", after-before)
	}
	if m := a.Metrics().Remote; m.HandshakeErrors < 3 || m.Handshakes < 1 {
		t.Fatalf("node A counted %d handshakes and %d refused; want the trusted one, and the three refused", m.Handshakes, m.HandshakeErrors)
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

// nodeFiles writes, in dir, a certificate ca signed for a node on
// 127.0.0.1, its key, and the PEM of the authorities trusted: the files
// MutualTLSFiles reads. Each file replaces the one before by a rename,
// as a rotation should.
func nodeFiles(t *testing.T, dir string, ca *certs.CA, trusted ...*certs.CA) (certFile, keyFile, caFile string) {
	t.Helper()
	cert, err := ca.Issue(certs.Leaf{Hosts: []string{"127.0.0.1"}, Name: "node"})
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	c, k, a, err := ca.WriteFiles(tmp, cert)
	if err != nil {
		t.Fatal(err)
	}
	var bundle []byte
	for _, tr := range trusted {
		bundle = append(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tr.Cert.Raw})...)
	}
	if err := os.WriteFile(a, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, caFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "ca.pem")
	for from, to := range map[string]string{c: certFile, k: keyFile, a: caFile} {
		if err := os.Rename(from, to); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile, caFile
}

// filesTLS is MutualTLSFiles of the files nodeFiles writes in dir.
func filesTLS(t *testing.T, dir string, ca *certs.CA, trusted ...*certs.CA) RemoteTLS {
	t.Helper()
	m, err := MutualTLSFiles(nodeFiles(t, dir, ca, trusted...))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRemoteTLSFilesRotation: nodes with certificates from files talk;
// then node B's certificate is replaced by one a new CA signed, and A's
// CA file by that CA alone, without restarting either. From then on A
// refuses a peer with a certificate the old CA signed (at the handshake:
// it spawns nothing) and serves one the new CA signed, and B dials with
// its new certificate. Peers without a certificate, or with another
// CA's, are refused; a peer that does not trust A's certificate refuses
// A (remote's dialer verifies the address it dials).
func TestRemoteTLSFilesRotation(t *testing.T) {
	oldCA, nextCA, strangers := newCA(t, "old"), newCA(t, "new"), newCA(t, "strangers")
	dirA, dirB := t.TempDir(), t.TempDir()
	a := newSystem(t, WithRemote(""), WithRemoteTLS(filesTLS(t, dirA, oldCA, oldCA)), WithRemotePolicy(AllowAll))
	bTLS := filesTLS(t, dirB, oldCA, oldCA)
	b := newSystem(t, WithRemote(""), WithRemoteTLS(bTLS))
	if _, err := SpawnAt(testCtx(t), b, a.Address(), testKind); err != nil {
		t.Fatalf("before the rotation: %v", err)
	}
	if err := served(a.Address(), bTLS.clientConfig("127.0.0.1")); err != nil {
		t.Fatalf("before the rotation, B's handshake: %v", err)
	}

	// The rotation: B gets a certificate the new CA signed (and still
	// trusts A's, the old CA's); A trusts only the new CA.
	nodeFiles(t, dirB, nextCA, oldCA, nextCA)
	_, _, caA := nodeFiles(t, t.TempDir(), nextCA, nextCA)
	if err := os.Rename(caA, filepath.Join(dirA, "ca.pem")); err != nil {
		t.Fatal(err)
	}

	if err := served(a.Address(), bTLS.clientConfig("127.0.0.1")); err != nil {
		t.Fatalf("after the rotation, B's handshake with its new certificate: %v", err)
	}
	before := a.Runtime().Sockets()
	anonymous := filesTLS(t, t.TempDir(), oldCA, oldCA)
	anonymous.files = nil
	anonymous.Client = &tls.Config{RootCAs: oldCA.Pool}
	var refused sync.WaitGroup // each peer's requests, at once
	for name, sec := range map[string]*RemoteTLS{
		"a certificate the old CA signed": ptr(filesTLS(t, t.TempDir(), oldCA, oldCA)),
		"another CA's certificate":        ptr(filesTLS(t, t.TempDir(), strangers, oldCA)),
		"no certificate":                  &anonymous,
		"no TLS":                          nil,
	} {
		opts := []Option{WithRemote("")}
		if sec != nil {
			opts = append(opts, WithRemoteTLS(*sec))
			if err := served(a.Address(), sec.clientConfig("127.0.0.1")); err == nil || !isTLSAlert(err) {
				t.Errorf("%s: handshake %v, want it refused", name, err)
			}
		}
		peer := newSystem(t, opts...)
		refused.Go(func() {
			if _, err := SpawnAt(within(t, 3*time.Second), peer, a.Address(), testKind); err == nil {
				t.Errorf("%s: SpawnAt succeeded", name)
			}
		})
	}
	// A peer A would serve, but which does not trust A's certificate
	// (the old CA's): it refuses A, checking the address it dialed.
	wary := filesTLS(t, t.TempDir(), nextCA, nextCA)
	var verr *tls.CertificateVerificationError
	if err := served(a.Address(), wary.clientConfig("127.0.0.1")); !errors.As(err, &verr) {
		t.Errorf("a peer that does not trust A: handshake %v, want A's certificate refused", err)
	}
	waryPeer := newSystem(t, WithRemote(""), WithRemoteTLS(wary))
	refused.Go(func() {
		if _, err := SpawnAt(within(t, 3*time.Second), waryPeer, a.Address(), testKind); err == nil {
			t.Error("a peer that does not trust A: SpawnAt succeeded")
		}
	})
	refused.Wait()
	if after := a.Runtime().Sockets(); after != before {
		t.Fatalf("refused peers spawned %d socket actors", after-before)
	}
	fresh := newSystem(t, WithRemote(""), WithRemoteTLS(filesTLS(t, t.TempDir(), nextCA, oldCA)))
	if _, err := SpawnAt(testCtx(t), fresh, a.Address(), testKind); err != nil {
		t.Fatalf("a certificate the new CA signed: %v", err)
	}
}

// TestRemoteTLSFilesErrors: MutualTLSFiles names the file and what is
// wrong with it.
func TestRemoteTLSFilesErrors(t *testing.T) {
	ca := newCA(t, "nodes")
	dir := t.TempDir()
	certFile, keyFile, caFile := nodeFiles(t, dir, ca, ca)
	otherCert, otherKey, _ := nodeFiles(t, t.TempDir(), ca, ca)
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	badCA := filepath.Join(dir, "bad-ca.pem")
	if err := os.WriteFile(badCA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		cert, key, ca string
		want1, want2  string
	}{
		{name: "no cert file", cert: filepath.Join(dir, "none.pem"), key: keyFile, ca: caFile, want1: "cert file", want2: "none.pem"},
		{name: "cert not PEM", cert: junk, key: keyFile, ca: caFile, want1: "cert file " + junk, want2: "no PEM CERTIFICATE"},
		{name: "key not PEM", cert: certFile, key: junk, ca: caFile, want1: "key file " + junk, want2: "no PEM PRIVATE KEY"},
		{name: "key of another cert", cert: certFile, key: otherKey, ca: caFile, want1: otherKey, want2: "does not match"},
		{name: "key file a certificate", cert: otherCert, key: otherCert, ca: caFile, want1: "key file " + otherCert, want2: "PRIVATE KEY"},
		{name: "ca not PEM", cert: certFile, key: keyFile, ca: junk, want1: "ca file " + junk, want2: "no PEM CERTIFICATE"},
		{name: "ca unparsable", cert: certFile, key: keyFile, ca: badCA, want1: "ca file " + badCA, want2: "certificate 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := MutualTLSFiles(tc.cert, tc.key, tc.ca)
			if err == nil || !strings.Contains(err.Error(), tc.want1) || !strings.Contains(err.Error(), tc.want2) {
				t.Fatalf("MutualTLSFiles: %v; want it to say %q and %q", err, tc.want1, tc.want2)
			}
		})
	}
}

// TestRemoteTLSFilesReload: files that change into something unusable
// leave the previous material in use, logged once; files that change
// into good material are used from the next handshake on; the configs
// gRPC and net/http clone see it too.
func TestRemoteTLSFilesReload(t *testing.T) {
	log := &records{}
	prev := slog.Default()
	slog.SetDefault(slog.New(log))
	t.Cleanup(func() { slog.SetDefault(prev) })
	ca := newCA(t, "nodes")
	dir := t.TempDir()
	sec := filesTLS(t, dir, ca, ca)
	server, client := sec.Server.Clone(), sec.Client.Clone()
	serial := func() string {
		t.Helper()
		c, err := client.GetClientCertificate(&tls.CertificateRequestInfo{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := server.GetConfigForClient(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		if a, b := c.Leaf.SerialNumber.String(), s.Certificates[0].Leaf.SerialNumber.String(); a != b {
			t.Fatalf("client presents %s, server %s", a, b)
		}
		return c.Leaf.SerialNumber.String()
	}
	first := serial()
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("half written"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got := serial(); got != first {
			t.Fatalf("a broken file: certificate %s, want the previous one %s", got, first)
		}
	}
	if errs := log.take(slog.LevelError); len(errs) != 1 || !strings.Contains(errs[0], "previous certificate") {
		t.Fatalf("logged %q, want one error", errs)
	}
	nodeFiles(t, dir, ca, ca)
	if got := serial(); got == first {
		t.Fatal("new files: the previous certificate still in use")
	}
	if errs := log.take(slog.LevelError); len(errs) != 0 {
		t.Fatalf("logged %q", errs)
	}
}

// A node refuses to start with a certificate other nodes would refuse:
// one that does not name its address, or a client certificate not for
// client authentication.
func TestRemoteTLSCertificateChecks(t *testing.T) {
	ca := newCA(t, "nodes")
	elsewhere, err := ca.Issue(certs.Leaf{Hosts: []string{"127.0.0.2"}, Name: "node"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Start(WithRemote(""), WithRemoteTLS(MutualTLS(elsewhere, ca.Pool))); err == nil || !strings.Contains(err.Error(), "does not name its address 127.0.0.1") {
		t.Errorf("a certificate for another address: %v", err)
	}
	serves, err := ca.Issue(certs.Leaf{Hosts: []string{"127.0.0.1"}, Name: "node", ServerOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	serverOnly := MutualTLS(serves, ca.Pool)
	if _, err := Start(WithRemote(""), WithRemoteTLS(serverOnly)); err == nil || !strings.Contains(err.Error(), "not for client authentication") {
		t.Errorf("a server-only certificate to dial with: %v", err)
	}
}

// A node listens on the address it will be reached at: a wildcard is
// refused, with or without TLS; IPv6 loopback works.
func TestRemoteAddresses(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", ":0", "[::ffff:0.0.0.0]:0"} {
		if _, err := Start(WithRemote(addr), WithInsecureRemote()); err == nil || !strings.Contains(err.Error(), "wildcard") {
			t.Errorf("WithRemote(%q): %v, want a wildcard refused", addr, err)
		}
	}
	a := newSystem(t, WithRemote("[::1]:0"), WithRemotePolicy(AllowAll))
	b := newSystem(t, WithRemote("[::1]:0"))
	if !strings.HasPrefix(a.Address(), "[::1]:") {
		t.Fatalf("address %q", a.Address())
	}
	if _, err := SpawnAt(testCtx(t), b, a.Address(), testKind); err != nil {
		t.Fatal(err)
	}
}

// A connection to the remote port that does not finish its handshake is
// closed after RemoteHandshakeTimeout, rather than hold an fd and a
// goroutine for gRPC's two minutes.
func TestRemoteHandshakeTimeout(t *testing.T) {
	defer func(d time.Duration) { remoteHandshakeTimeout = d }(remoteHandshakeTimeout)
	remoteHandshakeTimeout = 100 * time.Millisecond
	a := newSystem(t, WithRemote(""), WithRemoteTLS(nodeTLS(t, newCA(t, "nodes"))))
	c, err := net.Dial("tcp", a.Address())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("a silent client: %v, want the node to close it", err)
	}
	if m := a.Metrics().Remote; m.HandshakeErrors != 1 {
		t.Fatalf("HandshakeErrors %d, want 1", m.HandshakeErrors)
	}
}
