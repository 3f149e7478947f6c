package tcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// NetConn is a net.Conn over a Client, so crypto/tls, net/http and the rest
// of Go's ecosystem run on a socket actor. Read and Write are requests to
// the actor; the deadlines of the SetDeadline family are kept here and,
// when one passes, the pending request is withdrawn from the actor (what
// it had already done is kept: no byte is lost). Read, Write, Close and the
// setters are safe to call concurrently, as net.Conn requires.
type NetConn struct {
	c             *Client
	local, remote net.Addr
	dl            *actors.Deadlines
}

var _ net.Conn = (*NetConn)(nil)

// NewNetConn wraps a connected client. The NetConn owns the client from here on:
// closing the NetConn closes it, and if NewNetConn fails it closes the client.
// A client from Dial or Accept knows its addresses; for one connected
// otherwise (ConnectAsync) NewNetConn asks the actor within ctx.
func NewNetConn(ctx context.Context, c *Client) (*NetConn, error) {
	if c == nil {
		return nil, &socket.OpError{Op: "conn", Net: "tcp", Err: fmt.Errorf("%w: nil client", socket.ErrInvalidArgument)}
	}
	local, remote := c.LocalAddr(), c.RemoteAddr()
	if remote.IsValid() {
		return &NetConn{c: c, local: net.TCPAddrFromAddrPort(local), remote: net.TCPAddrFromAddrPort(remote), dl: actors.NewDeadlines()}, nil
	}
	info, err := c.Info(ctx)
	unixConn := info.GetDomain() == messages.Domain_DOMAIN_UNIX
	if err == nil && info.GetRemote() == nil && !unixConn {
		err = &socket.OpError{Op: "conn", Net: "tcp", Err: syscall.ENOTCONN}
	}
	if err != nil {
		_ = c.Close(context.Background())
		return nil, err
	}
	if unixConn { // as Go's net.UnixConn: the peer of an accepted one has no name
		return &NetConn{c: c, dl: actors.NewDeadlines(),
			local:  &net.UnixAddr{Net: "unix", Name: info.GetLocal().GetPath()},
			remote: &net.UnixAddr{Net: "unix", Name: info.GetRemote().GetPath()}}, nil
	}
	local, _ = info.GetLocal().AddrPort()
	remote, _ = info.GetRemote().AddrPort()
	return &NetConn{c: c, local: net.TCPAddrFromAddrPort(local), remote: net.TCPAddrFromAddrPort(remote), dl: actors.NewDeadlines()}, nil
}

// Client returns the client under the NetConn.
func (c *NetConn) Client() *Client { return c.c }

// Read reads up to len(p) bytes: what the actor has, or the first bytes to
// arrive. It returns io.EOF at end of stream and an error wrapping
// os.ErrDeadlineExceeded (a net.Error with Timeout) when the read deadline
// passes first.
func (c *NetConn) Read(p []byte) (int, error) {
	if err := c.dl.Check(false); err != nil {
		return 0, c.mapErr("read", err)
	}
	if len(p) == 0 {
		return 0, nil
	}
	f := c.c.RecvAsync(min(len(p), MaxRecv), 0)
	res, err := actors.AwaitDeadline(c.dl, c.c.System(), c.c.PID(), f, false)
	n := copy(p, res.GetData())
	if err == nil {
		err = res.GetStatus().Err()
	}
	return n, c.mapErr("read", err)
}

// Write writes all of p unless the write deadline passes or the connection
// fails; it returns how many bytes went out.
func (c *NetConn) Write(p []byte) (int, error) {
	if err := c.dl.Check(true); err != nil {
		return 0, c.mapErr("write", err)
	}
	if len(p) == 0 {
		return 0, nil
	}
	f := c.c.SendAsync(p, 0)
	res, err := actors.AwaitDeadline(c.dl, c.c.System(), c.c.PID(), f, true)
	if err == nil {
		err = res.GetStatus().Err()
	}
	return int(res.GetBytesSent()), c.mapErr("write", err)
}

// mapErr gives errors the forms Go's net.Conn users test for: io.EOF
// itself at end of stream, net.ErrClosed after Close, and an OpError
// that is a net.Error otherwise.
func (c *NetConn) mapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF):
		return io.EOF
	case errors.Is(err, socket.ErrCancelled):
		err = net.ErrClosed
	}
	var oe *socket.OpError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	remote := netip.AddrPort{}
	if a, ok := c.remote.(*net.TCPAddr); ok {
		remote = a.AddrPort()
	}
	return &socket.OpError{Op: op, Net: "tcp", Addr: remote, Err: err}
}

// Close closes the connection; pending Reads and Writes return at once.
// A second Close returns an error wrapping net.ErrClosed.
func (c *NetConn) Close() error {
	if !c.dl.Close() {
		return &socket.OpError{Op: "close", Net: "tcp", Err: net.ErrClosed}
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	return c.c.Close(ctx)
}

// closeTimeout bounds how long Close waits for the actor's answer.
const closeTimeout = 10 * time.Second

// LocalAddr returns the local address, a *net.TCPAddr (a *net.UnixAddr
// on a Unix-domain connection).
func (c *NetConn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the peer's address, a *net.TCPAddr.
func (c *NetConn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the read and write deadlines.
func (c *NetConn) SetDeadline(t time.Time) error {
	c.dl.Set(t, false)
	c.dl.Set(t, true)
	return nil
}

// SetReadDeadline sets the deadline of pending and future Reads; the zero
// time means none.
func (c *NetConn) SetReadDeadline(t time.Time) error {
	c.dl.Set(t, false)
	return nil
}

// SetWriteDeadline sets the deadline of pending and future Writes.
func (c *NetConn) SetWriteDeadline(t time.Time) error {
	c.dl.Set(t, true)
	return nil
}

// CloseWrite shuts down the sending side (FIN), as *net.TCPConn does.
func (c *NetConn) CloseWrite() error {
	return c.c.Shutdown(context.Background(), actors.ShutdownWrite)
}

// CloseRead shuts down the receiving side.
func (c *NetConn) CloseRead() error {
	return c.c.Shutdown(context.Background(), actors.ShutdownRead)
}
