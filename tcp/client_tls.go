package tcp

// A TCP client's TLS (DialTLS): the same layer as a push-mode
// connection's (tls.go), under the client's read and write queues.
//
// Records are made when a Send arrives, in the order Sends arrive, and
// wait in rawOut until the kernel takes them; a Send is answered once the
// last byte of its records is in the kernel. A TLS stream cannot skip a
// record, so a Send that ends unserved (its timeout, a withdrawal) ends
// the client's sending for good: later Sends fail with errTLSSendCut.

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/socket"
)

// clientTLS is a client's TLS layer and its records not yet written.
type clientTLS struct {
	*tlsLayer
	rawOut  [][]byte // records the kernel has not taken yet, in order
	made    uint64   // bytes of records made so far
	flushed uint64   // of those, bytes the kernel took
	done    chan<- tlsDone
}

// tlsDone is the outcome of a client's handshake.
type tlsDone struct {
	state *tls.ConnectionState
	err   error
}

// startClientTLS asks a connected client actor to run a TLS handshake
// with cfg; the outcome comes on done. Node-local (a Go struct).
type startClientTLS struct {
	cfg  *tls.Config
	done chan<- tlsDone
}

// errTLSSendCut fails a Send after an earlier one ended unserved: the
// stream lost a record, so nothing after it can be sent.
var errTLSSendCut error = &socket.ReasonError{Err: unix.EPIPE, Reason: "an earlier send ended unserved, which cut the TLS stream: it sends no more"}

// DialTLS dials addr (see Dial) and runs a TLS handshake with cfg within
// ctx; the client then sends and receives plaintext (Send, Recv,
// RecvExact; Close sends close_notify). As with crypto/tls, the server's
// certificate is verified against cfg.RootCAs (or the system's roots)
// unless cfg.InsecureSkipVerify, for the name cfg.ServerName, which is
// the host part of addr when empty (the name also goes out as SNI; a
// unix: address has no host, so give it cfg.ServerName or
// cfg.InsecureSkipVerify); a nil cfg is the zero Config, as for
// tls.Dial. The
// error of a failed handshake names it ("tls handshake"), and errors.As
// finds crypto/tls's and x509's errors in it. Client.TLS returns what
// the handshake settled.
//
// A TLS client's Send that ends unserved (its timeout, a cancelled
// context) after its records were made ends its sending for good: a TLS
// stream cannot skip a record. It reports 0 bytes sent, as does every
// later Send. A Send whose context had ended before the client took it
// made no record, and cuts nothing.
//
// With TLS 1.3, a server that refuses the client's certificate (or its
// lack of one) says so after the client's side of the handshake is done:
// DialTLS succeeds, and the refusal is the error of the first Recv
// ("remote error: tls: certificate required"), as with crypto/tls.
func DialTLS(ctx context.Context, sys *actors.System, addr string, cfg *tls.Config, opts ...Option) (*Client, error) {
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		host := addr
		if h, _, err := net.SplitHostPort(addr); err == nil {
			host = h
		}
		if _, isUnix := socket.UnixPath(addr); !isUnix {
			cfg = cfg.Clone()
			cfg.ServerName = host
		}
	}
	c, err := Dial(ctx, sys, addr, opts...)
	if err != nil {
		return nil, err
	}
	if err := c.handshake(ctx, cfg); err != nil {
		_ = c.Close(context.Background())
		return nil, err
	}
	return c, nil
}

// handshake runs the TLS handshake of a connected client.
func (c *Client) handshake(ctx context.Context, cfg *tls.Config) error {
	done := make(chan tlsDone, 1)
	c.System().Root().Send(c.PID(), &startClientTLS{cfg: cfg, done: done})
	select {
	case d := <-done:
		if d.err != nil {
			return d.err
		}
		c.tls.Store(d.state)
		return nil
	case <-ctx.Done():
		remote := c.RemoteAddr()
		err := ctx.Err()
		if err == context.DeadlineExceeded {
			err = socket.ErrTimeout
		}
		return &socket.OpError{Op: "tls handshake", Net: netFor(remote), Addr: remote, Err: err}
	}
}

// TLS returns what the client's TLS handshake settled (DialTLS), or nil
// for a client without TLS.
func (c *Client) TLS() *tls.ConnectionState { return c.tls.Load() }

// startTLS begins a client's handshake (startClientTLS).
func (a *clientActor) startTLS(m *startClientTLS) {
	fail := func(err error) {
		m.done <- tlsDone{err: &socket.OpError{Op: "tls handshake", Net: netFor(a.remote), Addr: a.remote, Path: a.path, Err: err}}
	}
	switch {
	case a.core.Closed():
		fail(net.ErrClosed)
		return
	case !a.connected():
		fail(unix.ENOTCONN)
		return
	case a.tls != nil:
		fail(fmt.Errorf("%w: TLS already started", socket.ErrInvalidArgument))
		return
	}
	a.tls = &clientTLS{tlsLayer: newTLSLayer(a, m.cfg, false), done: m.done}
	a.clientHandshake()
}

// clientHandshake advances the handshake; when it ends, its outcome goes
// to DialTLS.
func (a *clientActor) clientHandshake() {
	t := a.tls
	if t.done == nil || !t.handshake() {
		return
	}
	done := t.done
	t.done = nil
	if t.hsErr != nil {
		a.core.Counters().HandshakeErrors.Add(1)
		done <- tlsDone{err: &socket.OpError{Op: "tls handshake", Net: netFor(a.remote), Addr: a.remote, Path: a.path, Err: t.hsErr}}
		return
	}
	a.core.Counters().Handshakes.Add(1)
	state := t.state
	done <- tlsDone{state: &state}
}

// readPlain reads what a Recv gets: plaintext with TLS, else the
// socket's bytes. (0, nil) is the end of the stream.
func (a *clientActor) readPlain(p []byte) (int, error) {
	if a.tls != nil {
		if !a.tls.established() {
			return 0, unix.EAGAIN // the handshake reads first
		}
		return a.tls.read(p)
	}
	n, err := a.core.Socket().Read(p)
	a.core.Count(true, n, err)
	return n, err
}

// sealSend makes a Send's records; the write request then waits until
// the kernel has taken them (mark).
func (a *clientActor) sealSend(w *writeReq) error {
	t := a.tls
	if !t.established() {
		return errHandshaking
	}
	if err := t.write(w.data); err != nil {
		return err
	}
	w.mark = t.made
	return nil
}

// serveTLSWrites writes the records waiting and answers the Sends whose
// records are all in the kernel.
func (a *clientActor) serveTLSWrites() {
	if err := a.flushRaw(); err != nil {
		a.werr = err
		a.writes.FailAll(err)
		return
	}
	for a.writes.Len() > 0 {
		w := a.writes.Head()
		if w.mark > a.tls.flushed {
			return
		}
		a.writes.Reply(a.headSendResult(len(w.data)))
	}
}

// flushRaw writes rawOut until the kernel takes no more.
func (a *clientActor) flushRaw() error {
	t := a.tls
	sock := a.core.Socket()
	for len(t.rawOut) > 0 {
		b := t.rawOut[0]
		n, err := sock.Write(b)
		a.core.Count(false, n, err)
		switch {
		case err == unix.EAGAIN:
			return nil
		case err != nil:
			return err
		}
		t.flushed += uint64(n)
		if n < len(b) {
			t.rawOut[0] = b[n:]
			continue
		}
		t.rawOut[0] = nil
		t.rawOut = t.rawOut[1:]
	}
	t.rawOut = nil
	return nil
}

// rawRead reads ciphertext for the TLS layer (tlsOwner).
func (a *clientActor) rawRead(p []byte) (int, error) {
	sock := a.core.Socket()
	if sock == nil {
		return 0, net.ErrClosed
	}
	n, err := sock.Read(p)
	a.core.Count(true, n, err)
	switch {
	case err == unix.EAGAIN:
		return 0, errWouldBlock
	case err != nil:
		return 0, err
	}
	return n, nil
}

// rawDrained is false: a client's rawRead always reads the socket
// (tlsOwner).
func (a *clientActor) rawDrained() bool { return false }

// rawWrite writes ciphertext for the TLS layer (tlsOwner): at once if
// nothing waits before it, and what the kernel does not take to rawOut.
func (a *clientActor) rawWrite(p []byte) error {
	t := a.tls
	sock := a.core.Socket()
	if sock == nil {
		return net.ErrClosed
	}
	t.made += uint64(len(p))
	if len(t.rawOut) == 0 {
		n, err := a.core.WriteNow(p)
		if err != nil {
			return err
		}
		t.flushed += uint64(n)
		if n == len(p) {
			return nil
		}
		p = p[n:]
	}
	t.rawOut = append(t.rawOut, append([]byte(nil), p...))
	return nil
}

// tlsAddrs are the client's addresses as net.Addr, for crypto/tls.
func (a *clientActor) tlsAddrs() (local, remote net.Addr) {
	var la netip.AddrPort
	if sock := a.core.Socket(); sock != nil {
		la, _ = sock.LocalAddr()
	}
	return net.TCPAddrFromAddrPort(la), net.TCPAddrFromAddrPort(a.remote)
}

// closeNotify sends close_notify before the client closes or shuts its
// writing down, if the kernel takes it now (a client closing does not
// wait for it).
func (a *clientActor) closeNotify() {
	if a.tls != nil && a.tls.established() && len(a.tls.rawOut) == 0 && (a.writes == nil || a.writes.Len() == 0) {
		a.tls.closeNotify()
		a.tls.rawOut = nil // what the kernel did not take is dropped
	}
}
