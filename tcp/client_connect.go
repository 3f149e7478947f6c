package tcp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/actornet/actornet/actors/core"
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
// result cached for every later Connect to the same address.
type connector struct {
	state    connState
	result   *messages.ConnectResult
	waiters  *core.Queue[*messages.Connect] // the Connects the attempt answers (made with it)
	hostPort string                         // the first Connect's host_port, if it named one
	timer    *time.Timer                    // of the attempt, if it has a timeout
	cancel   context.CancelFunc             // of a name resolution in progress
	opts     *messages.Options
}

// resolved is what a resolving goroutine sends back to its client actor.
type resolved struct {
	host  string
	addrs []netip.Addr
	port  uint16
	err   error
}

func (a *clientActor) connected() bool {
	return a.conn.state == connDone && a.conn.result.GetStatus() == messages.ConnectStatus_CONNECT_STATUS_CONNECTED
}

func (a *clientActor) connect(cmd *messages.Connect, reply core.Replier) {
	c := &a.conn
	switch c.state {
	case connDone:
		reply.Reply(a.resultFor(cmd))
		return
	case connResolving, connConnecting:
		c.waiters.Push(cmd, reply, 0)
		return
	}
	if a.core.Closed() {
		core.Reject(reply, cmd, messages.IOStatus_IO_STATUS_CLOSED)
		return
	}
	c.waiters = core.NewQueue(a.core, a.answerConnect)
	c.waiters.Push(cmd, reply, 0) // the attempt's timeout is its own (c.timer)
	c.opts = cmd.GetOptions()
	if c.opts == nil {
		c.opts = defaultOptions()
	}
	timeout := core.Timeout(cmd.GetTimeoutMs())
	if cmd.GetRemote().IsUnix() {
		a.dialUnix(cmd.GetRemote().GetPath())
		return
	}
	if cmd.GetRemote() != nil {
		ap, err := cmd.GetRemote().AddrPort()
		if err != nil || !ap.Addr().IsValid() || ap.Port() == 0 {
			a.finishConnect(messages.ConnectStatus_CONNECT_STATUS_INVALID_ADDRESS, socket.ErrInvalidAddress, ap)
			return
		}
		a.dial(ap)
	} else {
		c.hostPort = cmd.GetHostPort()
		a.parseAndDial(c.hostPort, timeout)
	}
	if timeout > 0 && (c.state == connResolving || c.state == connConnecting) {
		c.timer = a.core.AfterFunc(timeout, a.connectTimedOut)
	}
}

// connectTimedOut ends the attempt when its timeout passes first.
func (a *clientActor) connectTimedOut() {
	if c := &a.conn; c.state == connResolving || c.state == connConnecting {
		a.finishConnect(messages.ConnectStatus_CONNECT_STATUS_TIMEOUT, socket.ErrTimeout, a.remote)
	}
}

// answerConnect answers a Connect that stops waiting for the attempt
// (withdrawn, refused, the socket closed); the attempt goes on for the
// others.
func (a *clientActor) answerConnect(_ **messages.Connect, reply core.Replier, err error) {
	if errors.Is(err, socket.ErrTooManyPending) {
		reply.Reply(&messages.ConnectResult{Status: messages.ConnectStatus_CONNECT_STATUS_ERROR,
			Error: messages.StatusOf("connect", "tcp", netip.AddrPort{}, err)})
		return
	}
	code, _ := messages.Classify(err)
	core.Reject(reply, &messages.Connect{}, code)
}

// resultFor is the answer to cmd once the attempt is over: its result,
// or, for a client connected to another address than cmd names, EISCONN
// with the address it is connected to.
func (a *clientActor) resultFor(cmd *messages.Connect) *messages.ConnectResult {
	if !a.connected() || a.sameRemote(cmd) {
		return a.conn.result
	}
	return &messages.ConnectResult{Status: messages.ConnectStatus_CONNECT_STATUS_ERROR,
		Error: a.status("connect", unix.EISCONN)}
}

// sameRemote reports whether cmd names the peer the client is connected
// to: the same address, or the host_port the first Connect named. A
// different host name is another address, even one that resolves to the
// same peer: the client does not resolve it again to find out.
func (a *clientActor) sameRemote(cmd *messages.Connect) bool {
	same := func(ap netip.AddrPort) bool {
		return ap.Port() == a.remote.Port() && ap.Addr().Unmap() == a.remote.Addr().Unmap()
	}
	if ep := cmd.GetRemote(); ep.IsUnix() || a.path != "" {
		return ep.GetPath() == a.path
	} else if ep != nil {
		ap, err := ep.AddrPort()
		return err == nil && same(ap)
	}
	hp := cmd.GetHostPort()
	if hp != "" && hp == a.conn.hostPort {
		return true
	}
	_, ip, port, err := socket.ParseHostPort(hp)
	return err == nil && ip.IsValid() && same(netip.AddrPortFrom(ip, port))
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
	case port == 0:
		invalid("port 0: nothing listens there")
		return
	case host == "" || ip.IsValid() && ip.IsUnspecified():
		// As with Go's net.Dial: an empty or unspecified host is this
		// host, so a listener's own Addr().String() ("[::]:7000") dials.
		a.dial(netip.AddrPortFrom(loopbackFor(ip), port))
		return
	case ip.IsValid():
		a.dial(netip.AddrPortFrom(ip, port))
		return
	}
	var ctx context.Context
	var cancel context.CancelFunc
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), timeout)
	} else {
		ctx, cancel = context.WithCancel(context.Background())
	}
	c := &a.conn
	c.state, c.cancel = connResolving, cancel
	root, self := a.core.Runtime().Root(), a.core.Self()
	go func() {
		addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		root.Send(self, &resolved{host: host, addrs: addrs, port: port, err: err})
	}()
}

// loopbackFor is the loopback address that stands for the unspecified
// address ip: ::1 for ::, 127.0.0.1 for 0.0.0.0 and for no address.
func loopbackFor(ip netip.Addr) netip.Addr {
	if ip.Is6() && !ip.Is4In6() {
		return netip.IPv6Loopback()
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

func (a *clientActor) onResolved(m *resolved) {
	c := &a.conn
	if c.state != connResolving {
		return
	}
	c.cancel()
	c.cancel = nil
	if m.err != nil || len(m.addrs) == 0 {
		var dnsErr *net.DNSError
		if errors.As(m.err, &dnsErr) && dnsErr.IsTimeout {
			a.finishConnect(messages.ConnectStatus_CONNECT_STATUS_TIMEOUT, socket.ErrTimeout, netip.AddrPort{})
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

// dialUnix connects a Unix-domain stream socket to path: the connect
// completes at once (or fails: refused when nothing listens there).
func (a *clientActor) dialUnix(path string) {
	a.path = path
	if err := socket.CheckUnixPath(path); err != nil {
		a.finishConnect(messages.ConnectStatus_CONNECT_STATUS_INVALID_ADDRESS, err, netip.AddrPort{})
		return
	}
	if err := unixOptions(a.conn.opts); err != nil {
		a.finishConnect(messages.ConnectStatus_CONNECT_STATUS_ERROR, err, netip.AddrPort{})
		return
	}
	sock, err := socket.Open(socket.Unix, socket.Stream)
	if err == nil {
		if err = sock.Apply(a.conn.opts.SocketOptions()); err == nil {
			err = sock.ConnectUnix(path)
		}
		if err != nil {
			_ = sock.Close()
		}
	}
	if err != nil {
		a.connectFailed(err)
		return
	}
	if err := a.core.Attach(sock); err != nil {
		a.finishConnect(messages.ConnectStatus_CONNECT_STATUS_ERROR, err, netip.AddrPort{})
		return
	}
	a.finishConnect(messages.ConnectStatus_CONNECT_STATUS_CONNECTED, nil, netip.AddrPort{})
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
	a.finishConnect(messages.ConnectStatusOf(err), err, a.remote)
}

// finishConnect caches the result, answers every waiter, and closes the
// socket of a failed attempt (a client connects once).
func (a *clientActor) finishConnect(st messages.ConnectStatus, err error, remote netip.AddrPort) {
	c := &a.conn
	core.StopTimer(c.timer)
	if c.cancel != nil {
		c.cancel()
		c.cancel = nil
	}
	res := &messages.ConnectResult{Status: st}
	switch {
	case a.path != "" && err != nil:
		res.Error = unixStatus("connect", a.path, err)
	case a.path != "":
		res.Remote = messages.NewUnixEndpoint(a.path)
	case err != nil:
		res.Error = messages.StatusOf("connect", netFor(remote), remote, err)
	}
	if sock := a.core.Socket(); err == nil && a.path == "" && sock != nil {
		if la, lerr := sock.LocalAddr(); lerr == nil {
			res.Local = messages.NewEndpoint(la)
		}
		res.Remote = messages.NewEndpoint(remote)
	}
	c.state, c.result = connDone, res
	for c.waiters.Len() > 0 {
		c.waiters.Reply(a.resultFor(*c.waiters.Head()))
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
