package actors

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// RemoteTLS is the mutual TLS between nodes: what a node serves other
// nodes with, and what it dials them with. It secures Proto.Actor
// remote's gRPC transport, a cluster's included (WithCluster), through
// remote's own server and dial options.
type RemoteTLS struct {
	// Server holds the node's certificate (Certificates, or
	// GetCertificate to rotate it without a restart) and the authorities
	// whose clients it accepts (ClientCAs). A client must present a
	// certificate they signed: ClientAuth is RequireAndVerifyClientCert
	// whatever Server says.
	Server *tls.Config
	// Client holds the certificate the node presents when it dials
	// (Certificates or GetClientCertificate) and the authorities it
	// trusts for other nodes (RootCAs). Nodes are dialed by the IP
	// address they advertise: their certificates must name it (an IP
	// SAN).
	Client *tls.Config

	// files, if not nil, is where Server and Client take their material
	// (MutualTLSFiles): actornet's own dialers then verify a node
	// against the authorities the CA file names now, and the address
	// they dial (files.clientFor).
	files *tlsFiles
}

// MutualTLS returns the RemoteTLS of a node whose certificate is cert
// (for both ends: a server and a client certificate in one, or give
// RemoteTLS its two configs) and which trusts the nodes whose
// certificates ca signed, both ways, on TLS 1.3.
func MutualTLS(cert tls.Certificate, ca *x509.CertPool) RemoteTLS {
	return RemoteTLS{
		Server: &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: ca, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13},
		Client: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: ca, MinVersion: tls.VersionTLS13},
	}
}

// WithRemoteTLS secures the node's remote (WithRemote) or cluster
// (WithCluster) transport with mutual TLS: a peer without a certificate
// the node trusts is refused at the handshake, before any message.
func WithRemoteTLS(t RemoteTLS) Option {
	return func(o *options) { o.remoteTLS = &t }
}

// WithInsecureRemote lets a node listen on an address other than
// loopback without TLS (WithRemote, WithCluster): for a network only
// trusted nodes reach. Anyone who reaches the port can then drive this
// node's sockets. Without it, and without WithRemoteTLS, Start refuses
// such an address.
func WithInsecureRemote() Option {
	return func(o *options) { o.insecureRemote = true }
}

// checkExposure refuses a remote address other than loopback without TLS,
// unless the caller said the network is trusted.
func checkExposure(addr string, o *options) error {
	if o.remoteTLS != nil || o.insecureRemote {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil // remoteConfig says what is wrong with it
	}
	if ip, err := netip.ParseAddr(host); (err == nil && ip.IsLoopback()) || host == "localhost" {
		return nil
	}
	return fmt.Errorf("actornet: remote on %s: not a loopback address, and no TLS between nodes: anyone who reaches it could drive this node's sockets; give WithRemoteTLS, or WithInsecureRemote for a network only trusted nodes reach", addr)
}

// secure adds t's credentials to a remote configuration.
func (t *RemoteTLS) secure(cfg *remote.Config, g *remoteGuard) error {
	if t == nil {
		return nil
	}
	if t.Server == nil || t.Client == nil {
		return fmt.Errorf("actornet: remote TLS: both Server and Client configs are needed")
	}
	if len(t.Server.Certificates) == 0 && t.Server.GetCertificate == nil && t.Server.GetConfigForClient == nil {
		return fmt.Errorf("actornet: remote TLS: the Server config has no certificate")
	}
	if err := t.checkCert(cfg.Host); err != nil {
		return err
	}
	cfg.ServerOptions = append(cfg.ServerOptions, grpc.Creds(servedCreds{TransportCredentials: credentials.NewTLS(t.serverConfig()), g: g}))
	var creds credentials.TransportCredentials = credentials.NewTLS(t.Client)
	if t.files != nil {
		creds = hostCreds{TransportCredentials: creds, forHost: t.files.clientFor}
	}
	cfg.DialOptions = []grpc.DialOption{grpc.WithTransportCredentials(dialCreds{TransportCredentials: creds, g: g})}
	return nil
}

// serverConfig is the config a node serves other nodes with (remote's
// gRPC endpoint, the membership endpoint): a copy of Server that
// demands a client certificate its authorities signed, whatever Server
// says.
func (t *RemoteTLS) serverConfig() *tls.Config {
	server := t.Server.Clone()
	server.ClientAuth = tls.RequireAndVerifyClientCert
	return server
}

// clientConfig is the config a node dials host (an IP address) with:
// Client with host as the name the server's certificate must carry, or,
// with certificate files, one made from the material they hold now.
func (t *RemoteTLS) clientConfig(host string) *tls.Config {
	if t.files != nil {
		return t.files.clientFor(host)
	}
	client := t.Client.Clone()
	if client.ServerName == "" {
		client.ServerName = host
	}
	return client
}

// hostCreds are gRPC transport credentials that dial each node with a
// config made for its address (RemoteTLS.clientConfig): a
// tls.Config's VerifyConnection cannot check an IP address, which a
// handshake's state does not carry.
type hostCreds struct {
	credentials.TransportCredentials
	forHost func(host string) *tls.Config
}

func (c hostCreds) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	host, _, err := net.SplitHostPort(authority)
	if err != nil {
		host = authority
	}
	return credentials.NewTLS(c.forHost(host)).ClientHandshake(ctx, authority, conn)
}

func (c hostCreds) Clone() credentials.TransportCredentials {
	return hostCreds{TransportCredentials: c.TransportCredentials.Clone(), forHost: c.forHost}
}

// MutualTLSFiles returns the RemoteTLS of a node whose certificate and
// key are the PEM files certFile and keyFile (one certificate for both
// ends, as MutualTLS gives), and which trusts the nodes whose
// certificates the authorities in the PEM file caFile signed, both ways,
// on TLS 1.3. The files are read now: the error names the file and what
// is wrong with it.
//
// Certificates rotate without a restart: at each handshake the configs
// check whether a file changed (os.Stat: its modification time, size or
// inode, so a file rewritten or replaced by a rename), and read them
// again if one did. A new connection uses the new material; one already
// open stays as it was. Files that change into something unusable (a
// PEM that does not parse, a certificate that does not match its key,
// a file missing half way through a rotation) leave the previous
// material in use, logged once (slog.Default) until they change again.
//
// Server picks the certificate and the authorities it trusts at each
// handshake (GetConfigForClient), and negotiates h2 or http/1.1. Client
// presents the current certificate (GetClientCertificate) and verifies
// the server itself against the current authorities, its name included
// (InsecureSkipVerify with VerifyConnection). A handshake's state
// carries no IP address, so Client alone refuses a server dialed by
// address rather than trust it unchecked; the node's own dialers
// (remote, cluster membership) verify the address they dial.
func MutualTLSFiles(certFile, keyFile, caFile string) (RemoteTLS, error) {
	f := &tlsFiles{certFile: certFile, keyFile: keyFile, caFile: caFile}
	f.stamps = f.stat()
	m, err := f.load()
	if err != nil {
		return RemoteTLS{}, err
	}
	f.cur = m
	protos := []string{"h2", "http/1.1"}
	server := &tls.Config{
		MinVersion: tls.VersionTLS13,
		ClientAuth: tls.RequireAndVerifyClientCert,
		NextProtos: protos,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			m := f.current()
			return &tls.Config{
				MinVersion:   tls.VersionTLS13,
				Certificates: []tls.Certificate{m.cert},
				ClientCAs:    m.pool,
				ClientAuth:   tls.RequireAndVerifyClientCert,
				NextProtos:   protos,
			}, nil
		},
	}
	client := &tls.Config{
		MinVersion: tls.VersionTLS13,
		// VerifyConnection verifies the server, against the authorities
		// the CA file names at the time.
		InsecureSkipVerify: true,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert := f.current().cert
			return &cert, nil
		},
		VerifyConnection: f.verifyServer,
	}
	return RemoteTLS{Server: server, Client: client, files: f}, nil
}

// tlsFiles is the material of MutualTLSFiles: what its files held when
// last read well, and what they looked like when last read at all.
type tlsFiles struct {
	certFile, keyFile, caFile string

	mu     sync.Mutex
	stamps [3]fileStamp
	cur    *tlsMaterial
}

// tlsMaterial is a certificate with its key, and the authorities trusted.
type tlsMaterial struct {
	cert tls.Certificate
	pool *x509.CertPool
}

// fileStamp is what os.Stat said of a file: its info, or its error.
type fileStamp struct {
	fi  os.FileInfo
	err string
}

func (a fileStamp) same(b fileStamp) bool {
	if a.fi == nil || b.fi == nil {
		return a.fi == nil && b.fi == nil && a.err == b.err
	}
	return os.SameFile(a.fi, b.fi) && a.fi.ModTime().Equal(b.fi.ModTime()) && a.fi.Size() == b.fi.Size()
}

func (f *tlsFiles) stat() [3]fileStamp {
	var st [3]fileStamp
	for i, name := range []string{f.certFile, f.keyFile, f.caFile} {
		fi, err := os.Stat(name)
		if err != nil {
			st[i].err = err.Error()
		} else {
			st[i].fi = fi
		}
	}
	return st
}

// current returns the material to use now, reading the files again if
// one of them changed since they were last read.
func (f *tlsFiles) current() *tlsMaterial {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.stat()
	if st[0].same(f.stamps[0]) && st[1].same(f.stamps[1]) && st[2].same(f.stamps[2]) {
		return f.cur
	}
	f.stamps = st
	m, err := f.load()
	if err != nil {
		slog.Default().Error("actornet: remote TLS: certificate files changed, but cannot be used; the previous certificate and authorities stay in use",
			slog.Any("error", err))
		return f.cur
	}
	f.cur = m
	return m
}

// load reads the three files.
func (f *tlsFiles) load() (*tlsMaterial, error) {
	certPEM, err := readPEM("cert", f.certFile, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	keyPEM, err := readPEM("key", f.keyFile, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("actornet: remote TLS: cert file %s with key file %s: %w", f.certFile, f.keyFile, err)
	}
	caPEM, err := readPEM("ca", f.caFile, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for n := 1; ; n++ {
		var b *pem.Block
		b, caPEM = pem.Decode(caPEM)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		ca, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("actornet: remote TLS: ca file %s: certificate %d: %w", f.caFile, n, err)
		}
		pool.AddCert(ca)
	}
	return &tlsMaterial{cert: cert, pool: pool}, nil
}

// readPEM reads file, which must hold a PEM block whose type ends with
// typ.
func readPEM(what, file, typ string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("actornet: remote TLS: %s file: %w", what, err)
	}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, fmt.Errorf("actornet: remote TLS: %s file %s: no PEM %s block", what, file, typ)
		}
		if strings.HasSuffix(b.Type, typ) {
			return data, nil
		}
	}
}

// clientFor is the config to dial host with now: the current
// certificate, and crypto/tls's own verification of the server against
// the current authorities and of host (an IP address or a name) against
// its certificate.
func (f *tlsFiles) clientFor(host string) *tls.Config {
	m := f.current()
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{m.cert},
		RootCAs:      m.pool,
		ServerName:   host,
	}
}

// verifyServer is Client's verification of the server: its chain up to
// the current authorities, for serving, under the name the handshake
// carries.
func (f *tlsFiles) verifyServer(cs tls.ConnectionState) error {
	if cs.ServerName == "" {
		return errors.New("actornet: remote TLS: no server name to verify the server's certificate against (a server dialed by IP address: dial it through actornet, which verifies the address)")
	}
	if len(cs.PeerCertificates) == 0 {
		return errors.New("actornet: remote TLS: the server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots:         f.current().pool,
		Intermediates: inter,
		DNSName:       cs.ServerName,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return fmt.Errorf("actornet: remote TLS: server certificate: %w", err)
	}
	return nil
}
