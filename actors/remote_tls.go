package actors

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"

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
func (t *RemoteTLS) secure(cfg *remote.Config) error {
	if t == nil {
		return nil
	}
	if t.Server == nil || t.Client == nil {
		return fmt.Errorf("actornet: remote TLS: both Server and Client configs are needed")
	}
	if len(t.Server.Certificates) == 0 && t.Server.GetCertificate == nil && t.Server.GetConfigForClient == nil {
		return fmt.Errorf("actornet: remote TLS: the Server config has no certificate")
	}
	server := t.Server.Clone()
	server.ClientAuth = tls.RequireAndVerifyClientCert
	cfg.ServerOptions = append(cfg.ServerOptions, grpc.Creds(credentials.NewTLS(server)))
	cfg.DialOptions = []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(t.Client))}
	return nil
}
