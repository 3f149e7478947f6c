package tcp

// A push-mode connection's TLS (WithTLS): the handshake before the
// handler starts, and the record layer between the socket and the
// handler (see tls.go).

import (
	"crypto/tls"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"

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
	if a.tls != nil {
		a.tls.abort(errHandshakeAborted)
	}
}

// readInto reads what the handler gets next: plaintext from the TLS
// layer, or the socket's bytes. (0, nil) is the end of the stream.
func (a *connActor) readInto(p []byte) (int, error) {
	if a.tls != nil {
		return a.tls.read(p)
	}
	n, err := a.core.Socket().Read(p)
	a.core.Count(true, n, err)
	return n, err
}

// writeTLS encrypts a write the checks of write let through. Its records
// go to the socket, and what the kernel does not take now to the queue;
// its ack goes with its last queued record (at once if none was queued).
func (a *connActor) writeTLS(data []byte, ack uint64, async bool) error {
	if !a.tls.established() {
		return a.refuse(ack, errHandshaking, async)
	}
	before := len(a.queue.items)
	if err := a.tls.write(data); err != nil {
		// Queued, so that the failure answers it as it would a queued
		// write (WriteFailed when the connection ends).
		a.queue.push(queuedWrite{ack: ack})
		a.finish("write", err)
		return a.opError("write", err)
	}
	if len(a.queue.items) > before {
		a.queue.items[len(a.queue.items)-1].ack = ack
	} else {
		a.written(ack)
	}
	a.checkFilled()
	return nil
}

// rawRead reads ciphertext for the TLS layer (tlsOwner).
func (a *connActor) rawRead(p []byte) (int, error) {
	sock := a.core.Socket()
	switch {
	case sock == nil:
		return 0, net.ErrClosed
	case a.drained:
		return 0, errWouldBlock // empty at the last read; a Ready says when not
	}
	n, err := sock.Read(p)
	a.core.Count(true, n, err)
	switch {
	case err == unix.EAGAIN:
		a.drained = true
		return 0, errWouldBlock
	case err != nil:
		return 0, err
	case n > 0 && n < len(p) && a.core.Registration().ShortReadDrains():
		a.drained = true // a short read emptied the socket
	}
	return n, nil
}

// rawDrained reports whether the socket was empty at the last read, with
// no Ready since (tlsOwner).
func (a *connActor) rawDrained() bool { return a.drained }

// rawWrite writes ciphertext for the TLS layer (tlsOwner): at once, and
// what the kernel does not take now (or all of it, behind queued
// writes) to the queue, copied (the layer reuses its buffer).
func (a *connActor) rawWrite(p []byte) error {
	sock := a.core.Socket()
	if sock == nil || a.mode == closedConn {
		return net.ErrClosed
	}
	if a.queue.len() == 0 {
		n, err := a.core.WriteNow(p)
		if err != nil || n == len(p) {
			return err
		}
		p = p[n:]
	}
	a.queue.push(queuedWrite{data: append([]byte(nil), p...)})
	a.queued += len(p)
	return nil
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
