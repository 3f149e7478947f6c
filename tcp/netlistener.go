package tcp

import (
	"context"
	"errors"
	"net"
	"sync"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/socket"
)

// NetListener is a net.Listener over a Listener: Accept returns a *NetConn,
// so http.Serve and tls.NewListener work on a listener actor.
type NetListener struct {
	l         *Listener
	addr      net.Addr
	closed    chan struct{}
	closeOnce sync.Once
}

var _ net.Listener = (*NetListener)(nil)

// NewNetListener wraps l; closing the NetListener closes l.
func NewNetListener(l *Listener) *NetListener {
	var addr net.Addr = net.TCPAddrFromAddrPort(l.Addr())
	if l.Path() != "" {
		addr = &net.UnixAddr{Net: "unix", Name: l.Path()}
	}
	return &NetListener{l: l, addr: addr, closed: make(chan struct{})}
}

// Accept waits for the next connection. After Close it returns an error
// wrapping net.ErrClosed (http.Serve then returns).
func (n *NetListener) Accept() (net.Conn, error) {
	f := n.l.AcceptAsync(0)
	select {
	case <-f.Done():
	case <-n.closed:
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _ = actors.Await(ctx, n.l.System(), n.l.PID(), f)
		// A connection accepted as the listener closed is closed too.
	}
	res, err, _ := f.Result()
	client, err := n.l.Accepted(res, err)
	select {
	case <-n.closed:
		if err == nil {
			_ = client.Close(context.Background())
		}
		return nil, &socket.OpError{Op: "accept", Net: "tcp", Addr: n.l.Addr(), Err: net.ErrClosed}
	default:
	}
	if err != nil {
		if errors.Is(err, socket.ErrCancelled) {
			err = &socket.OpError{Op: "accept", Net: "tcp", Addr: n.l.Addr(), Err: net.ErrClosed}
		}
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	conn, err := NewNetConn(ctx, client)
	if err != nil {
		_ = client.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// Close closes the listener; pending and later Accepts return net.ErrClosed.
func (n *NetListener) Close() error {
	err := error(&socket.OpError{Op: "close", Net: "tcp", Err: net.ErrClosed})
	n.closeOnce.Do(func() {
		close(n.closed)
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		err = n.l.Close(ctx)
	})
	return err
}

// Addr returns the listening address, a *net.TCPAddr.
func (n *NetListener) Addr() net.Addr { return n.addr }
