package tcp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// connState is where a client is in its one connection attempt.
type connState int

const (
	connIdle connState = iota
	connResolving
	connConnecting
	connDone
)

// connector is a client's connect attempt: at most one per client, its
// result cached for every later Connect.
type connector struct {
	state   connState
	result  *messages.ConnectResult
	waiters []actors.Replier
	id      uint64
	timer   *time.Timer
	cancel  context.CancelFunc // of a name resolution in progress
	opts    *messages.Options
}

// resolved is what a resolving goroutine sends back to its client actor.
type resolved struct {
	id    uint64
	host  string
	addrs []netip.Addr
	port  uint16
	err   error
}

func (a *clientActor) connected() bool {
	return a.conn.state == connDone && a.conn.result.GetStatus() == messages.ConnectStatus_CONNECT_STATUS_CONNECTED
}

func (a *clientActor) connect(cmd *messages.Connect, reply actors.Replier) {
	c := &a.conn
	switch c.state {
	case connDone:
		reply.Reply(c.result)
		return
	case connResolving, connConnecting:
		if len(c.waiters) >= actors.MaxPending {
			reply.Reply(&messages.ConnectResult{Status: messages.ConnectStatus_CONNECT_STATUS_ERROR,
				Error: messages.StatusOf("connect", "tcp", netip.AddrPort{}, socket.ErrTooManyPending)})
			return
		}
		c.waiters = append(c.waiters, reply)
		return
	}
	if a.core.Closed() {
		actors.Reject(reply, cmd, messages.IOStatus_IO_STATUS_CLOSED)
		return
	}
	c.waiters = append(c.waiters, reply)
	c.opts = cmd.GetOptions()
	if c.opts == nil {
		c.opts = defaultOptions()
	}
	c.id = a.core.NextID()
	timeout := actors.Timeout(cmd.GetTimeoutMs())
	if timeout > 0 {
		c.timer = a.core.After(timeout, c.id)
	}
	if cmd.GetRemote() != nil {
		ap, err := cmd.GetRemote().AddrPort()
		if err != nil || !ap.Addr().IsValid() || ap.Port() == 0 {
			a.finishConnect(messages.ConnectStatus_CONNECT_STATUS_INVALID_ADDRESS, socket.ErrInvalidAddress, ap)
			return
		}
		a.dial(ap)
		return
	}
	a.parseAndDial(cmd.GetHostPort(), timeout)
}

// parseAndDial dials a literal "ip:port" at once and resolves a name first.
func (a *clientActor) parseAndDial(hostPort string, timeout time.Duration) {
	invalid := func(reason string) {
		a.finishConnect(messages.ConnectStatus_CONNECT_STATUS_INVALID_ADDRESS, &socket.AddrError{Addr: hostPort, Reason: reason}, netip.AddrPort{})
	}
	host, ip, port, err := socket.ParseHostPort(hostPort)
	switch {
	case err != nil:
		a.finishConnect(messages.ConnectStatus_CONNECT_STATUS_INVALID_ADDRESS, err, netip.AddrPort{})
		return
	case host == "":
		invalid("missing host")
		return
	case port == 0:
		invalid("port 0: nothing listens there")
		return
	case ip.IsValid() && ip.IsUnspecified():
		invalid("unspecified address: nothing to connect to")
		return
	case ip.IsValid():
		a.dial(netip.AddrPortFrom(ip, port))
		return
	}
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	c := &a.conn
	c.state, c.cancel = connResolving, cancel
	root, self, id := a.core.System().Root(), a.core.Self(), c.id
	go func() {
		addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		root.Send(self, &resolved{id: id, host: host, addrs: addrs, port: port, err: err})
	}()
}

func (a *clientActor) onResolved(m *resolved) {
	c := &a.conn
	if c.state != connResolving || m.id != c.id {
		return
	}
	c.cancel()
	c.cancel = nil
	if m.err != nil || len(m.addrs) == 0 {
		var dnsErr *net.DNSError
		if errors.As(m.err, &dnsErr) && dnsErr.IsTimeout {
			a.finishConnect(messages.ConnectStatus_CONNECT_STATUS_TIMEOUT, os.ErrDeadlineExceeded, netip.AddrPort{})
			return
		}
		reason := "no such host"
		if dnsErr != nil && dnsErr.Err != "" {
			reason = dnsErr.Err
		}
		a.finishConnect(messages.ConnectStatus_CONNECT_STATUS_ERROR, &socket.HostError{Host: m.host, Reason: reason}, netip.AddrPort{})
		return
	}
	a.dial(netip.AddrPortFrom(m.addrs[0].Unmap(), m.port))
}

// dial opens the socket for ap's domain, hands it to the core, and starts
// a non-blocking connect.
func (a *clientActor) dial(ap netip.AddrPort) {
	c := &a.conn
	sock, err := socket.Open(socket.DomainOf(ap.Addr()), socket.Stream)
	if err != nil {
		a.finishConnect(messages.ConnectStatus_CONNECT_STATUS_ERROR, err, ap)
		return
	}
	if err := sock.Apply(c.opts.SocketOptions()); err != nil {
		_ = sock.Close()
		a.finishConnect(messages.ConnectStatus_CONNECT_STATUS_ERROR, err, ap)
		return
	}
	// Connect before registering: a TCP socket that is not connecting yet
	// reports EPOLLHUP, which would mark the registration hung up.
	a.remote = ap
	err = sock.Connect(ap)
	if err != nil && !errors.Is(err, unix.EINPROGRESS) {
		_ = sock.Close()
		a.connectFailed(err)
		return
	}
	if aerr := a.core.Attach(sock); aerr != nil {
		a.finishConnect(messages.ConnectStatus_CONNECT_STATUS_ERROR, aerr, ap)
		return
	}
	if err == nil {
		a.finishConnect(messages.ConnectStatus_CONNECT_STATUS_CONNECTED, nil, ap)
		return
	}
	c.state = connConnecting
	// Ask for writability, then look: the connect may have finished before
	// the registration, and then no edge would come.
	a.core.Want(poller.Writable)
	a.connectReady()
}

// connectReady finishes a connect in progress once the socket is writable.
func (a *clientActor) connectReady() {
	sock := a.core.Socket()
	err := sock.Error()
	if err == nil {
		if _, perr := sock.RemoteAddr(); perr != nil {
			return // still connecting (a readiness from before the connect)
		}
	}
	if err != nil {
		a.connectFailed(err)
		return
	}
	a.finishConnect(messages.ConnectStatus_CONNECT_STATUS_CONNECTED, nil, a.remote)
}

func (a *clientActor) connectFailed(err error) {
	st := messages.ConnectStatus_CONNECT_STATUS_ERROR
	switch {
	case errors.Is(err, unix.ECONNREFUSED):
		st = messages.ConnectStatus_CONNECT_STATUS_REFUSED
	case errors.Is(err, unix.ETIMEDOUT):
		st = messages.ConnectStatus_CONNECT_STATUS_TIMEOUT
	case errors.Is(err, socket.ErrInvalidAddress), errors.Is(err, unix.EAFNOSUPPORT):
		st = messages.ConnectStatus_CONNECT_STATUS_INVALID_ADDRESS
	}
	a.finishConnect(st, err, a.remote)
}

// finishConnect caches the result, answers every waiter, and closes the
// socket of a failed attempt (a client connects once).
func (a *clientActor) finishConnect(st messages.ConnectStatus, err error, remote netip.AddrPort) {
	c := &a.conn
	actors.StopTimer(c.timer)
	if c.cancel != nil {
		c.cancel()
		c.cancel = nil
	}
	res := &messages.ConnectResult{Status: st}
	if err != nil {
		res.Error = messages.StatusOf("connect", netFor(remote), remote, err)
	} else if sock := a.core.Socket(); sock != nil {
		if la, lerr := sock.LocalAddr(); lerr == nil {
			res.Local = messages.NewEndpoint(la)
		}
		res.Remote = messages.NewEndpoint(remote)
	}
	c.state, c.result = connDone, res
	waiters := c.waiters
	c.waiters = nil
	for _, w := range waiters {
		w.Reply(res)
	}
	if st != messages.ConnectStatus_CONNECT_STATUS_CONNECTED {
		a.core.Close(messages.IOStatus_IO_STATUS_CLOSED)
	}
}

func netFor(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return "tcp"
	}
	if socket.DomainOf(ap.Addr()) == socket.IPv4 {
		return "tcp4"
	}
	return "tcp6"
}
