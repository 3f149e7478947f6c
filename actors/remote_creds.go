package actors

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/credentials"
)

// servedCreds are the node's gRPC server credentials, counting the
// handshakes it completes and refuses (Metrics.Remote), and saying so in
// the log (at most one Warn every handshakeWarnEvery, the rest at Debug:
// a stranger may knock in a loop).
type servedCreds struct {
	credentials.TransportCredentials
	g *remoteGuard
}

func (c servedCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	hc := &handshakeConn{Conn: conn, g: c.g}
	out, info, err := c.TransportCredentials.ServerHandshake(hc)
	hc.mu.Lock()
	hc.finished = true
	if !hc.counted {
		c.g.countHandshake(err == nil)
	}
	hc.mu.Unlock()
	if err != nil {
		c.g.logRefused(conn.RemoteAddr(), err)
	}
	return out, info, err
}

// handshakeConn counts a handshake that fails when crypto/tls closes its
// connection, which it does before it returns the error: the peer sees
// the close after the count, never before.
type handshakeConn struct {
	net.Conn
	g                 *remoteGuard
	mu                sync.Mutex
	finished, counted bool
}

func (c *handshakeConn) Close() error {
	c.mu.Lock()
	if !c.finished && !c.counted {
		c.counted = true
		c.g.countHandshake(false)
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

func (c servedCreds) Clone() credentials.TransportCredentials {
	return servedCreds{TransportCredentials: c.TransportCredentials.Clone(), g: c.g}
}

// dialCreds are the node's gRPC dial credentials, remembering why the
// last dial to each node failed: requests to a node whose link failed
// then fail with the reason (a certificate the node does not trust, one
// that does not name its address) instead of a bare "closed".
type dialCreds struct {
	credentials.TransportCredentials
	g *remoteGuard
}

func (c dialCreds) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	out, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, conn)
	if err == nil {
		out, err = firstWord(ctx, out)
	}
	c.g.dialed(authority, err)
	return out, info, err
}

// firstWordWait bounds the wait for a node's first bytes after a
// handshake when the dial has no deadline of its own.
const firstWordWait = 10 * time.Second

// firstWord waits for the first bytes the dialed node sends (a gRPC
// server sends its settings at once) and returns a connection that reads
// them first. Under TLS 1.3 a client's end of the handshake succeeds
// before the server judges its certificate: a refusal is an alert the
// client meets on its first read, or never, if it writes first into the
// closed connection (a broken pipe). Reading before gRPC writes makes
// the refusal the handshake's error, every time.
func firstWord(ctx context.Context, conn net.Conn) (net.Conn, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(firstWordWait)
	}
	if err := conn.SetReadDeadline(deadline); err != nil {
		conn.Close()
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	stop()
	if err == nil {
		err = conn.SetReadDeadline(time.Time{})
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &primedConn{Conn: conn, first: buf[:n]}, nil
}

// primedConn is a connection whose first bytes were read already.
type primedConn struct {
	net.Conn
	first []byte
}

func (c *primedConn) Read(b []byte) (int, error) {
	if len(c.first) > 0 {
		n := copy(b, c.first)
		c.first = c.first[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

func (c dialCreds) Clone() credentials.TransportCredentials {
	return dialCreds{TransportCredentials: c.TransportCredentials.Clone(), g: c.g}
}

// handshakeWarnEvery bounds the Warn lines for refused handshakes.
const handshakeWarnEvery = 10 * time.Second

// maxDialErrors bounds the dial errors a node remembers.
const maxDialErrors = 1024

// countHandshake counts a handshake the node served, completed or refused.
func (g *remoteGuard) countHandshake(ok bool) {
	g.mu.Lock()
	if ok {
		g.handshakes++
	} else {
		g.handshakeErrors++
	}
	g.mu.Unlock()
}

// logRefused logs a refused handshake: at Warn at most once every
// handshakeWarnEvery, otherwise at Debug.
func (g *remoteGuard) logRefused(peer net.Addr, err error) {
	g.mu.Lock()
	warn := time.Since(g.lastWarn) >= handshakeWarnEvery
	if warn {
		g.lastWarn = time.Now()
	}
	g.mu.Unlock()
	log := g.sys.Actors.Logger().Debug
	if warn {
		log = g.sys.Actors.Logger().Warn
	}
	log("actornet: remote handshake refused (more are logged at Debug for a while)", "peer", peer.String(), "error", err.Error())
}

func (g *remoteGuard) dialed(node string, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err == nil {
		delete(g.dialErrs, node)
		return
	}
	if len(g.dialErrs) >= maxDialErrors {
		clear(g.dialErrs)
	}
	g.dialErrs[node] = err
}

// dialError is why the last dial to node failed, if it did.
func (g *remoteGuard) dialError(node string) error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.dialErrs[node]
}

// checkCert refuses a node certificate other nodes would refuse: a
// server certificate that does not name host, the address they dial
// (an IP SAN), or a client certificate not meant for client
// authentication (the node presents it when it dials, replies
// included). A config whose certificate comes from a callback is asked
// for it once, as a handshake would.
func (t *RemoteTLS) checkCert(host string) error {
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return nil
	}
	if leaf := serverLeaf(t.Server); leaf != nil {
		if err := leaf.VerifyHostname(ip.String()); err != nil {
			return fmt.Errorf("actornet: remote TLS: the node's certificate does not name its address %s, where other nodes dial it: they would refuse it (%v)", ip, err)
		}
	}
	if leaf := clientLeaf(t.Client); leaf != nil && len(leaf.ExtKeyUsage) > 0 &&
		!slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return fmt.Errorf("actornet: remote TLS: the node's client certificate (%q) is not for client authentication: other nodes would refuse it when this node dials them, to reply too", leaf.Subject.CommonName)
	}
	return nil
}

func serverLeaf(c *tls.Config) *x509.Certificate {
	switch {
	case c == nil:
		return nil
	case len(c.Certificates) > 0:
		return leafOf(&c.Certificates[0])
	case c.GetCertificate != nil:
		cert, err := c.GetCertificate(&tls.ClientHelloInfo{})
		if err == nil {
			return leafOf(cert)
		}
	case c.GetConfigForClient != nil:
		cfg, err := c.GetConfigForClient(&tls.ClientHelloInfo{})
		if err == nil && cfg != nil && cfg.GetConfigForClient == nil {
			return serverLeaf(cfg)
		}
	}
	return nil
}

func clientLeaf(c *tls.Config) *x509.Certificate {
	switch {
	case c == nil:
		return nil
	case len(c.Certificates) > 0:
		return leafOf(&c.Certificates[0])
	case c.GetClientCertificate != nil:
		cert, err := c.GetClientCertificate(&tls.CertificateRequestInfo{})
		if err == nil {
			return leafOf(cert)
		}
	}
	return nil
}

func leafOf(c *tls.Certificate) *x509.Certificate {
	if c == nil || len(c.Certificate) == 0 {
		return nil
	}
	if c.Leaf != nil {
		return c.Leaf
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil
	}
	return leaf
}
