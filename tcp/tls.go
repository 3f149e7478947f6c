package tcp

// TLS for actor-owned sockets. crypto/tls's Conn blocks in Read and Write
// on its transport; here its transport is the socket actor itself, in
// memory, and nothing blocks:
//
//   - Records are read and written inside the actor's own calls. The
//     transport reads the socket; when the socket is empty it returns a
//     temporary net.Error, which crypto/tls gives back without breaking
//     the connection (it keeps the partial record and carries on at the
//     next Read: the contract its read deadlines rely on). Writes go to
//     the socket, and what the kernel does not take now joins the actor's
//     bounded write queue, so a TLS write never fails for want of room.
//   - The handshake cannot stop halfway (crypto/tls fails a handshake
//     whose transport errs), so it runs as a coroutine (iter.Pull): where
//     it would wait for bytes it yields back to the actor, and the actor
//     resumes it at the socket's next Ready. The switch is a direct hand
//     over on the same thread, not a goroutine wake-up; the coroutine's
//     goroutine lives only as long as the handshake.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// DefaultHandshakeTimeout bounds a TLS handshake: a client that has not
// finished it by then is disconnected, so it cannot hold a connection
// slot.
const DefaultHandshakeTimeout = 10 * time.Second

// WithTLS makes a push-mode server (Serve, StartService) speak TLS with
// cfg: each connection's handler hears Connected once the handshake has
// completed (Conn.TLS and Connected.Tls then say what it settled: the
// version, ALPN's protocol, the client's certificates), and reads and
// writes plaintext. Everything cfg offers works as with crypto/tls's own
// server: ALPN (NextProtos), client certificates (ClientAuth,
// ClientCAs), session resumption, GetCertificate or GetConfigForClient
// to change certificates without a restart. cfg must have a certificate
// (Certificates, GetCertificate or GetConfigForClient) and must not be
// changed once given. A handshake that fails, or does not complete
// within WithHandshakeTimeout, closes the connection without the handler
// hearing of it; the failure is counted (Totals.HandshakeErrors) and
// published on the event stream (*HandshakeFailed).
//
// The handshake runs where the handler does: on the poller's goroutine,
// cfg's callbacks (GetCertificate, GetConfigForClient,
// VerifyPeerCertificate, VerifyConnection) included. A callback that
// blocks (a certificate fetched over the network, autocert) stalls every
// connection on that poller: give such a server WithBlockingHandlers.
// While a handshake runs it holds a goroutine (its coroutine, a few KiB
// of stack), given back when the handshake ends; WithMaxConnections and
// WithHandshakeTimeout bound how many and for how long.
func WithTLS(cfg *tls.Config) ServeOption {
	switch {
	case cfg == nil:
		return invalidServe(badOption("WithTLS(nil)", "needs a *tls.Config"))
	case len(cfg.Certificates) == 0 && cfg.GetCertificate == nil && cfg.GetConfigForClient == nil:
		return invalidServe(badOption("WithTLS", "the config has no certificate (Certificates, GetCertificate or GetConfigForClient)"))
	}
	return serveOption(func(c *serveConfig) { c.server.tls = cfg })
}

// WithHandshakeTimeout bounds a TLS connection's handshake (WithTLS): a
// client that has not completed it within d is disconnected (a
// HandshakeFailed whose error matches os.ErrDeadlineExceeded). d must be
// more than zero. Default DefaultHandshakeTimeout.
func WithHandshakeTimeout(d time.Duration) ServeOption {
	if d <= 0 {
		return invalidServe(badOption(fmt.Sprintf("WithHandshakeTimeout(%v)", d), "must be more than 0"))
	}
	return serveOption(func(c *serveConfig) { c.server.handshake, c.server.handshakeSet = d, true })
}

// HandshakeFailed is published (as *HandshakeFailed) on the actor
// system's event stream when a TLS connection's handshake fails: bad
// input (plaintext on a TLS port), a certificate refused either way, no
// common protocol, or its deadline. The connection is closed; its
// handler never ran.
type HandshakeFailed struct {
	Conn    *actor.PID
	Service string // the listener's address
	Remote  netip.AddrPort
	Err     error // names the operation, "tls handshake"
}

// tlsOwner is the socket actor under a TLS layer: the raw side of its
// socket.
type tlsOwner interface {
	// rawRead reads ciphertext: n > 0 bytes, (0, nil) at the end of the
	// stream, errWouldBlock while the socket is empty.
	rawRead(p []byte) (int, error)
	// rawWrite writes ciphertext, queuing what the kernel does not take
	// now; an error is the socket's failure.
	rawWrite(p []byte) error
	// rawDrained reports whether rawRead would answer errWouldBlock now
	// without looking at the socket (it found the socket empty, and no
	// readiness came since). Only a server's layer asks (see inTracker).
	rawDrained() bool
	tlsAddrs() (local, remote net.Addr)
}

// wouldBlock is the transport's "no bytes now": temporary, so crypto/tls
// keeps the connection (and a partial record) for the next Read.
type wouldBlock struct{}

func (wouldBlock) Error() string   { return "tls transport: no data yet" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

var errWouldBlock net.Error = wouldBlock{}

// errHandshakeAborted ends a handshake cut short: the connection closed
// or its deadline passed.
var errHandshakeAborted = fmt.Errorf("tls handshake aborted: %w", net.ErrClosed)

// errHandshaking refuses a write to a TLS connection whose handshake has
// not completed (a Write message sent before Connected).
var errHandshaking = fmt.Errorf("the TLS handshake has not completed: %w", unix.ENOTCONN)

// tlsLayer is one connection's TLS: crypto/tls's Conn over the owner, and
// the handshake's coroutine while it runs.
type tlsLayer struct {
	owner tlsOwner
	conn  *tls.Conn

	next  func() (struct{}, bool) // resumes the handshake
	stop  func()
	yield func(struct{}) bool // the handshake's, while it runs

	// (The small fields sit together: a layer per connection.)
	hsDone  bool // the handshake has ended: hsErr says how
	aborted bool // no more raw writes: the connection is closing
	// staging: a write's records go to the poller's send (conn_sends.go),
	// staged, while the owner's writeTLS runs; queuedOut: some of them
	// were queued, so the write's acknowledgment waits for the queue.
	staging, queuedOut bool
	// rx: what is left of the bytes the poller received (io_uring,
	// poller.Registration.NextRecv) that crypto/tls has not read yet, in
	// the poller's buffer rxID (held while rxHeld).
	rx     []byte
	rxID   uint16
	rxHeld bool
	in     inTracker // what crypto/tls holds of the input (conn_path_tls.go)
	hsErr  error     // nil for a handshake that completed
	timer  *time.Timer
	state  tls.ConnectionState
	batch  *[]byte // the records of a write being made (conn_path_tls.go)
}

// newTLSLayer puts a server's (or a client's) TLS over owner.
func newTLSLayer(owner tlsOwner, cfg *tls.Config, server bool) *tlsLayer {
	l := &tlsLayer{owner: owner}
	l.in.track = server
	if server {
		l.conn = tls.Server(tlsTransport{l}, cfg)
	} else {
		l.conn = tls.Client(tlsTransport{l}, cfg)
	}
	return l
}

// handshake runs the handshake until it needs bytes that have not come
// (false) or it ends (true; hsErr says how).
func (l *tlsLayer) handshake() bool {
	if l.hsDone {
		return true
	}
	if l.next == nil {
		l.next, l.stop = iter.Pull(func(yield func(struct{}) bool) {
			l.yield = yield
			err := l.conn.HandshakeContext(context.Background())
			l.yield = nil
			l.hsErr = err
		})
	}
	if _, more := l.next(); more {
		return false
	}
	l.next, l.stop = nil, nil
	l.hsDone = true
	l.stopTimer()
	if l.hsErr == nil {
		l.state = l.conn.ConnectionState()
	}
	return true
}

// abort ends the layer: a handshake in progress fails with why, and
// nothing more is written.
func (l *tlsLayer) abort(why error) {
	l.aborted = true
	l.stopTimer()
	if l.stop != nil {
		l.stop() // the handshake's wait answers false: it returns
		l.next, l.stop = nil, nil
	}
	if !l.hsDone {
		l.hsDone, l.hsErr = true, why
	}
}

func (l *tlsLayer) stopTimer() {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
}

// tlsFailure is err as a status carries it: the socket's own errors
// (an errno, a timeout) as they are, the TLS protocol's (a bad record,
// an alert, a record cut short) as EPROTO with crypto/tls's words.
func tlsFailure(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
		return err
	}
	return &socket.ReasonError{Err: unix.EPROTO, Reason: err.Error()}
}

// closeNotify sends close_notify once, after a completed handshake.
func (l *tlsLayer) closeNotify() {
	if l.established() && !l.aborted {
		_ = l.conn.CloseWrite()
	}
}

// proto returns the handshake's outcome as a message.
func (l *tlsLayer) proto() *messages.TLSState {
	s := &l.state
	out := &messages.TLSState{
		Version:            uint32(s.Version),
		CipherSuite:        uint32(s.CipherSuite),
		NegotiatedProtocol: s.NegotiatedProtocol,
		ServerName:         s.ServerName,
		DidResume:          s.DidResume,
	}
	for _, c := range s.PeerCertificates {
		out.PeerCertificates = append(out.PeerCertificates, c.Raw)
	}
	return out
}

// tlsTransport is the net.Conn crypto/tls reads and writes records
// through.
type tlsTransport struct{ l *tlsLayer }

func (tlsTransport) Close() error { return nil }

func (t tlsTransport) LocalAddr() net.Addr {
	local, _ := t.l.owner.tlsAddrs()
	return local
}

func (t tlsTransport) RemoteAddr() net.Addr {
	_, remote := t.l.owner.tlsAddrs()
	return remote
}

// Deadlines are the actor's (the handshake timer, request deadlines):
// crypto/tls's own calls to these (around close_notify) do nothing.
func (tlsTransport) SetDeadline(time.Time) error      { return nil }
func (tlsTransport) SetReadDeadline(time.Time) error  { return nil }
func (tlsTransport) SetWriteDeadline(time.Time) error { return nil }

// handshakeTimeout tells a connection its handshake deadline has passed.
type handshakeTimeout struct{}

// errHandshakeTimeout is the cause of a handshake cut off by its
// deadline.
var errHandshakeTimeout = fmt.Errorf("not completed within the handshake timeout: %w", socket.ErrTimeout)
