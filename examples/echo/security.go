package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/test/testkit/certs"
)

// security is a run's TLS settings: nil configs without -tls.
type security struct {
	server, client *tls.Config
}

// newSecurity builds the server's config (its certificate from -cert and
// -key, or one made now from a throwaway CA) and the clients' (trusting
// -ca's certificates if given).
func newSecurity(cfg config) (security, error) {
	if !cfg.tls {
		return security{}, nil
	}
	var sec security
	var roots *x509.CertPool // nil: the system's
	if cfg.connect == "" {
		var cert tls.Certificate
		var err error
		if cfg.cert != "" {
			cert, err = tls.LoadX509KeyPair(cfg.cert, cfg.key)
		} else {
			cert, roots, err = certs.SelfSigned()
		}
		if err != nil {
			return sec, fmt.Errorf("tls certificate: %w", err)
		}
		sec.server = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	if cfg.ca != "" {
		pool, err := certs.LoadPool(cfg.ca)
		if err != nil {
			return sec, fmt.Errorf("tls -ca: %w", err)
		}
		roots = pool
	}
	sec.client = &tls.Config{RootCAs: roots, InsecureSkipVerify: cfg.insecure}
	return sec, nil
}

// logHandshakeFailures prints every failed TLS handshake until the
// returned func is called.
func logHandshakeFailures(sys *actors.System, out io.Writer) (stop func()) {
	sub := sys.Actors.EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(*tcp.HandshakeFailed); ok {
			fmt.Fprintf(out, "failed: %v\n", e.Err)
		}
	})
	return func() { sys.Actors.EventStream.Unsubscribe(sub) }
}
