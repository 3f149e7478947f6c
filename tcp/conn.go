package tcp

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// Conn is a net.Conn over a Client, so crypto/tls, net/http and the rest
// of Go's ecosystem run on a socket actor. Read and Write are requests to
// the actor; the deadlines of the SetDeadline family are kept here and,
// when one passes, the pending request is withdrawn from the actor (what
// it had already done is kept: no byte is lost). Read, Write, Close and the
// setters are safe to call concurrently, as net.Conn requires.
type Conn struct {
	c             *Client
	local, remote net.Addr
	mu            sync.Mutex
	rdl, wdl      time.Time
	rchg, wchg    chan struct{} // closed when the deadline changes
	closed        chan struct{}
	closeOnce     sync.Once
	closeErr      error
}

var _ net.Conn = (*Conn)(nil)

// NewConn wraps a connected client. The Conn owns the client from here on:
// closing the Conn closes it.
func NewConn(ctx context.Context, c *Client) (*Conn, error) {
	info, err := c.Info(ctx)
	if err != nil {
		return nil, err
	}
	local, _ := info.GetLocal().AddrPort()
	remote, _ := info.GetRemote().AddrPort()
	return &Conn{
		c:      c,
		local:  net.TCPAddrFromAddrPort(local),
		remote: net.TCPAddrFromAddrPort(remote),
		rchg:   make(chan struct{}),
		wchg:   make(chan struct{}),
		closed: make(chan struct{}),
	}, nil
}

// Client returns the client under the Conn.
func (c *Conn) Client() *Client { return c.c }

// Read reads up to len(p) bytes: what the actor has, or the first bytes to
// arrive. It returns io.EOF at end of stream and an error wrapping
// os.ErrDeadlineExceeded (a net.Error with Timeout) when the read deadline
// passes first.
func (c *Conn) Read(p []byte) (int, error) {
	if err := c.check(false); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	f := c.c.RecvAsync(min(len(p), MaxRecv), 0)
	res, err := wait(c, f, false)
	n := copy(p, res.GetData())
	if err == nil {
		err = res.GetStatus().Err()
	}
	return n, c.mapErr("read", err)
}

// Write writes all of p unless the write deadline passes or the connection
// fails; it returns how many bytes went out.
func (c *Conn) Write(p []byte) (int, error) {
	if err := c.check(true); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	f := c.c.SendAsync(p, 0)
	res, err := wait(c, f, true)
	if err == nil {
		err = res.GetStatus().Err()
	}
	return int(res.GetBytesSent()), c.mapErr("write", err)
}

// wait waits for f while watching the deadline of its direction, its
// changes, and Close; when the deadline passes or the Conn closes it
// withdraws the request and returns the actor's last word.
func wait[T any](c *Conn, f *actors.Future[T], write bool) (T, error) {
	for {
		dl, changed := c.deadline(write)
		var timer *time.Timer
		var expired <-chan time.Time
		if !dl.IsZero() {
			timer = time.NewTimer(time.Until(dl))
			expired = timer.C
		}
		var giveUp error
		select {
		case <-f.Done():
		case <-changed:
		case <-expired:
			giveUp = os.ErrDeadlineExceeded
		case <-c.closed:
			giveUp = net.ErrClosed
		}
		actors.StopTimer(timer)
		if v, err, done := f.Result(); done {
			return v, err
		}
		if giveUp == nil {
			continue // the deadline moved: wait again with the new one
		}
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(giveUp)
		v, err := actors.Await(ctx, c.c.System(), c.c.PID(), f)
		if err != nil {
			err = giveUp
		}
		return v, err
	}
}

// check fails an operation before it starts, as Go's net does, when the
// Conn is closed or its deadline has already passed.
func (c *Conn) check(write bool) error {
	op := "read"
	if write {
		op = "write"
	}
	select {
	case <-c.closed:
		return c.mapErr(op, net.ErrClosed)
	default:
	}
	if dl, _ := c.deadline(write); !dl.IsZero() && !time.Now().Before(dl) {
		return c.mapErr(op, os.ErrDeadlineExceeded)
	}
	return nil
}

func (c *Conn) deadline(write bool) (time.Time, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if write {
		return c.wdl, c.wchg
	}
	return c.rdl, c.rchg
}

// mapErr gives errors the forms Go's net.Conn users test for: io.EOF
// itself at end of stream, net.ErrClosed after Close, and an OpError
// that is a net.Error otherwise.
func (c *Conn) mapErr(op string, err error) error {
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
func (c *Conn) Close() error {
	err := &socket.OpError{Op: "close", Net: "tcp", Err: net.ErrClosed}
	c.closeOnce.Do(func() {
		close(c.closed)
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		c.closeErr = c.c.Close(ctx)
		err = nil
	})
	if err == nil {
		return c.closeErr
	}
	return err
}

// closeTimeout bounds how long Close waits for the actor's answer.
const closeTimeout = 10 * time.Second

// LocalAddr returns the local address, a *net.TCPAddr.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the peer's address, a *net.TCPAddr.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.setDeadline(t, false)
	c.setDeadline(t, true)
	return nil
}

// SetReadDeadline sets the deadline of pending and future Reads; the zero
// time means none.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.setDeadline(t, false)
	return nil
}

// SetWriteDeadline sets the deadline of pending and future Writes.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.setDeadline(t, true)
	return nil
}

func (c *Conn) setDeadline(t time.Time, write bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if write {
		c.wdl = t
		close(c.wchg)
		c.wchg = make(chan struct{})
		return
	}
	c.rdl = t
	close(c.rchg)
	c.rchg = make(chan struct{})
}

// CloseWrite shuts down the sending side (FIN), as *net.TCPConn does.
func (c *Conn) CloseWrite() error {
	return c.c.Shutdown(context.Background(), messages.ShutdownHow_SHUTDOWN_HOW_WRITE)
}

// CloseRead shuts down the receiving side.
func (c *Conn) CloseRead() error {
	return c.c.Shutdown(context.Background(), messages.ShutdownHow_SHUTDOWN_HOW_READ)
}
