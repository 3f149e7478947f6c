package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"runtime"
	"sync"
	_ "unsafe" // go:linkname, for llibHasAESGCM

	ltls "github.com/lesismal/llib/std/crypto/tls"
	"github.com/lesismal/nbio"
	ntls "github.com/lesismal/nbio/extension/tls"
	"github.com/lesismal/nbio/logging"
	"golang.org/x/sys/cpu"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/test/testkit/certs"
)

// implNbio is nbio (github.com/lesismal/nbio) with its non-blocking TLS
// (github.com/lesismal/llib/std/crypto/tls, through nbio's extension/tls):
// the event-loop peer of the TLS tables.
const implNbio = "nbio"

// tlsServers are the servers of the TLS tables (gnet has no TLS).
var tlsServers = []string{implActornet, implActornetURing, implGoNet, implNbio}

// serverCert makes the one certificate every TLS server uses: ECDSA
// P-256, signed by a throwaway CA, made at server start. Clients skip
// verification (both sides are the harness's), so its CA is dropped.
func serverCert() (tls.Certificate, error) {
	cert, _, err := certs.SelfSigned()
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("server certificate: %w", err)
	}
	return cert, nil
}

// tlsServer runs a TLS echo server: every implementation with its
// library's defaults (TLS 1.3, session tickets on) and the same
// certificate.
func tlsServer(ctx context.Context, impl, mode, addr string) (string, func(), error) {
	if mode != modeEcho {
		return "", nil, fmt.Errorf("TLS servers echo only, not %q", mode)
	}
	cert, err := serverCert()
	if err != nil {
		return "", nil, err
	}
	switch impl {
	case implActornet:
		return actornetTLSServer(ctx, cert, addr, actors.BackendEpoll)
	case implActornetURing:
		return actornetTLSServer(ctx, cert, addr, actors.BackendIOUring)
	case implGoNet:
		return goNetTLSServer(cert, addr)
	case implNbio:
		return nbioTLSServer(cert, addr)
	}
	return "", nil, fmt.Errorf("no TLS server %q", impl)
}

// actornetTLSServer is actornetServer's echo handler behind tcp.WithTLS:
// the handler reads and writes plaintext, the connection actor runs
// crypto/tls's record layer and the handshake. On io_uring the records
// go out through the poller's batched send and the ciphertext comes in
// through its receive.
func actornetTLSServer(ctx context.Context, cert tls.Certificate, addr string, backend actors.Backend) (string, func(), error) {
	sys, err := actors.Start(actors.WithBackend(backend))
	if err != nil {
		return "", nil, err
	}
	end := func() { _ = sys.StopNow() }
	if got := sys.Backend(); got != backend {
		end()
		return "", nil, fmt.Errorf("actornet TLS server: backend %v asked, %v running (the kernel refused it)", backend, got)
	}
	h := tcp.HandlerFunc(func(c *tcp.Conn, msg any) {
		if m, ok := msg.(*messages.Received); ok {
			c.Write(m.GetData())
		}
	})
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	l, err := tcp.Serve(ctx, sys, addr, h, tcp.WithMaxConnections(maxConns), tcp.WithTLS(cfg))
	if err != nil {
		end()
		return "", nil, err
	}
	return l.Addr().String(), end, nil
}

// goNetTLSServer is crypto/tls as Go users write it: tls.NewListener over
// net.Listen and a goroutine per connection copying what it reads back
// (the handshake runs at the first Read).
func goNetTLSServer(cert tls.Certificate, addr string) (string, func(), error) {
	inner, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	return goroutinePerConn(tls.NewListener(inner, &tls.Config{Certificates: []tls.Certificate{cert}}), false)
}

// llibHasAESGCM is llib's TLS's idea of whether the CPU has AES-GCM
// instructions. It reads it from llib's copy of Go's internal/cpu, which
// nothing initialises (the runtime initialises only its own), so it is
// always false and an nbio server would pick ChaCha20-Poly1305 over the
// AES-128-GCM that the client prefers and the other servers choose. The
// harness sets it from the real CPU before the first handshake (llib
// builds its cipher lists once, at the first), so that every server runs
// the same cipher and the tables compare servers, not ciphers.
//
//go:linkname llibHasAESGCM github.com/lesismal/llib/std/crypto/tls.hasAESGCMHardwareSupport
var llibHasAESGCM bool

// nbioReadBuf holds plaintext read from an nbio TLS connection: one TLS
// record's worth, so a 4 KiB message is echoed in one record.
var nbioReadBuf = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// nbioTLSServer is nbio's TLS echo as its extension/tls example writes
// it (WrapOpen makes a non-blocking llib tls.Conn per connection,
// WrapClose releases it), with WrapData's read loop written out to read
// into a pooled 16 KiB buffer instead of a fresh 2 KiB one per event. The
// engine keeps its defaults: a poller per four CPUs (one here), reads on
// the poller's goroutine.
func nbioTLSServer(cert tls.Certificate, addr string) (string, func(), error) {
	logging.SetLevel(logging.LevelNone)
	llibHasAESGCM = llibHasAESGCM || hasAESGCM()
	cfg := &ntls.Config{Certificates: []ltls.Certificate{{Certificate: cert.Certificate, PrivateKey: cert.PrivateKey}}}
	g := nbio.NewEngine(nbio.Config{Network: "tcp", Addrs: []string{addr}})
	g.OnOpen(ntls.WrapOpen(cfg, false, nil))
	g.OnClose(ntls.WrapClose(func(_ *nbio.Conn, tc *ntls.Conn, _ error) { _ = tc.Close() }))
	g.OnData(func(c *nbio.Conn, data []byte) {
		tc, ok := c.Session().(*ntls.Conn)
		if !ok {
			return
		}
		if _, err := tc.Append(data); err != nil {
			_ = c.Close()
			return
		}
		bp := nbioReadBuf.Get().(*[]byte)
		defer nbioReadBuf.Put(bp)
		for {
			n, err := tc.Read(*bp)
			if err != nil {
				_ = c.Close()
				return
			}
			if n == 0 {
				return
			}
			if _, err := tc.Write((*bp)[:n]); err != nil {
				_ = c.Close()
				return
			}
		}
	})
	if err := g.Start(); err != nil {
		return "", nil, fmt.Errorf("nbio start: %w", err)
	}
	return g.Addrs[0], g.Stop, nil
}

// hasAESGCM reports whether this CPU has the instructions Go's AES-GCM
// uses (AES-NI and PCLMULQDQ on amd64; AES and PMULL on arm64).
func hasAESGCM() bool {
	switch runtime.GOARCH {
	case "amd64":
		return cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ
	case "arm64":
		return cpu.ARM64.HasAES && cpu.ARM64.HasPMULL
	}
	return false
}
