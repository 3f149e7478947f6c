package tcp

// A push-mode connection's TLS (WithTLS): the handshake before the
// handler starts, and the record layer between the socket and the
// handler (see tls.go; the record layer's reads and writes are in
// conn_path_tls.go).

import (
	"crypto/tls"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// startTLS puts the server's TLS over the connection and arms the
// handshake's deadline; the handshake runs at the socket's Readys.
func (a *connActor) startTLS(ctx actor.Context) {
	a.tls = newTLSLayer(a, a.cfg.tls, true)
	root, self := ctx.ActorSystem().Root, a.self
	a.tls.timer = time.AfterFunc(a.cfg.handshake, func() { root.Send(self, handshakeTimeout{}) })
}

// handshake advances the handshake with the bytes that have come. It
// returns true once the handshake has completed and the handler has
// started; false while it waits for more, and after a failure (the
// connection is then closing).
func (a *connActor) handshake() bool {
	t := a.tls
	if !t.handshake() {
		return false
	}
	if t.hsErr != nil {
		a.handshakeFailed(t.hsErr)
		return false
	}
	a.core.Counters().Handshakes.Add(1)
	a.begin()
	return true
}

// handshakeFailed closes a connection whose handshake failed: counted,
// published, and the handler never ran.
func (a *connActor) handshakeFailed(err error) {
	if a.mode == closedConn {
		return
	}
	a.core.Counters().HandshakeErrors.Add(1)
	a.ctx.ActorSystem().EventStream.Publish(&HandshakeFailed{
		Conn:    a.self,
		Service: a.service,
		Remote:  a.remote,
		Err:     a.handshakeError(err),
	})
	a.terminate(a.ctx) // no events: the handler never started
}

// handshakeError names the handshake and the connection in err, which
// stays as crypto/tls gave it (errors.As finds its x509 errors).
func (a *connActor) handshakeError(err error) error {
	e := &socket.OpError{Op: "tls handshake", Net: netFor(a.remote), Addr: a.remote, Err: err}
	if a.unix() {
		e.Net, e.Addr, e.Path = "unix", netip.AddrPort{}, strings.TrimPrefix(a.service, socket.UnixPrefix)
	}
	return e
}

// endTLS ends the TLS layer before the socket closes: a handshake in
// progress returns, and nothing more is written.
func (a *connActor) endTLS() {
	if l := a.tls; l != nil {
		l.abort(errHandshakeAborted)
		if l.rxHeld {
			l.rx, l.rxHeld = nil, false
			a.core.Registration().ReleaseRecv(l.rxID)
		}
	}
}

// tlsAddrs are the connection's addresses as net.Addr, for crypto/tls.
func (a *connActor) tlsAddrs() (local, remote net.Addr) {
	return net.TCPAddrFromAddrPort(a.conn.LocalAddr()), net.TCPAddrFromAddrPort(a.remote)
}

// TLS returns what the connection's TLS handshake settled (the version,
// ALPN's protocol, the server name the client asked for, the client's
// certificates), or nil for a connection without TLS. The handler may
// keep it; it does not change.
func (c *Conn) TLS() *tls.ConnectionState {
	if t := c.a.tls; t != nil && t.established() {
		return &t.state
	}
	return nil
}

// ringRead is rawRead (conn_path_tls.go) where the poller receives for the connection
// (io_uring): the ciphertext comes from the poller's buffers, copied into
// crypto/tls's, without read(2). A buffer crypto/tls did not take whole
// is held for its next read; the socket counts as drained once the
// poller has nothing more queued.
func (a *connActor) ringRead(reg *poller.Registration, p []byte) (int, error) {
	l := a.tls
	if !l.rxHeld {
		if err := a.core.Socket().ReadFault(); err == unix.EAGAIN {
			// An injected EAGAIN: what the poller queued stays queued,
			// so no new Ready would come; look again after the others.
			reg.Again(poller.Readable)
			return 0, errWouldBlock
		} else if err != nil {
			a.core.Count(true, 0, err)
			return 0, err
		}
		data, id, err := reg.NextRecv()
		switch {
		case err == nil && len(data) > 0:
			a.core.Count(true, len(data), nil)
			l.rx, l.rxID, l.rxHeld = data, id, true
		case err == nil:
			return 0, nil // end of stream
		case err == unix.EAGAIN:
			a.drained = true
			return 0, errWouldBlock
		case err != poller.ErrRecvStopped:
			a.core.Count(true, 0, err)
			return 0, err
		default:
			// The poller's receive ended: read the socket to EAGAIN,
			// then arm it again (it tries the socket at once).
			n, err := a.core.Socket().Read(p)
			a.core.Count(true, n, err)
			if err != unix.EAGAIN {
				return n, err
			}
			if reg.ArmRecv() != nil {
				reg.Again(poller.Readable) // look again after the others
			}
			a.drained = true
			return 0, errWouldBlock
		}
	}
	n := copy(p, l.rx)
	l.rx = l.rx[n:]
	if len(l.rx) == 0 {
		l.rx, l.rxHeld = nil, false
		reg.ReleaseRecv(l.rxID)
		if !reg.RecvQueued() {
			a.drained = true // as a short read: nothing more has come
		}
	}
	return n, nil
}
