package tcp

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// listenerActor owns a listening socket and answers Accept requests in
// order, each with a new client actor for the accepted connection. The
// accepted clients are spawned at the top level: they outlive the listener,
// as connections accepted from a Go net.Listener do.
type listenerActor struct {
	core     *core.Core
	ctx      actor.Context
	result   *messages.ListenResult // cached once Listen ran
	local    netip.AddrPort
	path     string                // the Unix socket path, for a Unix listener
	file     *socket.UnixFile      // the socket file it made, removed when it closes
	accepts  *core.Queue[struct{}] // pull mode: the waiting Accepts
	accepted *messages.Options     // options of accepted sockets
	shut     bool                  // Shutdown(read) ended accepting

	// push mode only
	server    *serverConfig
	connProps *actor.Props   // shared by every connection
	next      acceptedConn   // the connection connProps builds next
	service   string         // the local address, the connections' service
	sweep     *idleSweep     // the connections' idle timeout
	spawned   *core.Core     // the core connProps built last
	notify    *actor.PID     // told of each connection (a service), if set
	stats     *listenerStats // apart from the actor: connections hold it
	backoff   time.Duration
	paused    bool
}

// AcceptFailed is published (as *AcceptFailed) on the actor system's
// event stream when a push-mode listener's accept fails (EMFILE,
// ENFILE...) and it pauses for Backoff before it tries again.
type AcceptFailed struct {
	Listener *actor.PID
	Addr     netip.AddrPort
	Err      error
	Backoff  time.Duration
}

// listenerStats are the counters behind messages.ListenerStats.
// Live is shared with the listener's connections, which count themselves
// out when they stop: cheaper per connection than watching each one.
type listenerStats struct{ Live atomic.Int64 }

// acceptMore is the message a push-mode listener sends itself when an
// accept batch ends with connections perhaps still waiting: with
// edge-triggered readiness no new edge would say so.
type acceptMore struct{}

var _ actor.Actor = (*listenerActor)(nil)

// acceptedConn is a connection between accept and its actor's start.
type acceptedConn struct {
	sock   *socket.Socket
	remote netip.AddrPort
}

func newListenerActor(c *core.Core, server *serverConfig, notify *actor.PID) *listenerActor {
	c.SetKind("tcp.listener")
	a := &listenerActor{core: c, accepted: &messages.Options{NoDelay: true}, server: server, notify: notify, stats: &listenerStats{}}
	if server != nil {
		a.connProps = a.newConnProps()
	} else {
		a.accepts = core.NewQueue(c, a.answerAccept).WaitsFor(poller.Readable, a.serveAccepts)
	}
	return a
}

// SocketCore returns the actor's core.
func (a *listenerActor) SocketCore() *core.Core { return a.core }

// newConnProps returns the props every connection of this listener is
// spawned from: one Props per listener, not per connection. The listener
// spawns one connection at a time, so the producer takes the socket the
// listener just accepted (a.next); a producer call with nothing to take
// (a second spawn) gets a socket-less actor that stops.
func (a *listenerActor) newConnProps() *actor.Props {
	return core.SocketProps(a.core.Runtime(), nil, func(c *core.Core) (core.SocketActor, core.Protocol) {
		next := a.next
		a.next = acceptedConn{}
		if next.sock != nil {
			c.Adopt(next.sock)
			c.Park() // it starts on its own poller, not in this accept loop
			a.spawned = c
		}
		return newConnActor(c, a.server, next.remote, a.service, &a.stats.Live)
	})
}

// hooks drive push mode's accepting; pull mode's Accepts wait on a queue.
func (a *listenerActor) hooks() core.Hooks {
	if a.server == nil {
		return core.Hooks{OnCancel: func(messages.IOStatus) { a.removeFile() }}
	}
	return core.Hooks{
		OnReady: func(poller.Direction) {
			if !a.paused && !a.shut {
				a.acceptLoop()
			}
		},
		OnWants: func(d poller.Direction) bool {
			return d == poller.Readable && a.result != nil && !a.paused && !a.shut
		},
		OnCancel: func(messages.IOStatus) {
			if a.sweep != nil {
				a.sweep.close()
			}
			a.removeFile()
		},
	}
}

// removeFile removes the socket file a Unix listener made, as Go's
// UnixListener does when it closes (not one another listener has put in
// its place since).
func (a *listenerActor) removeFile() {
	if a.file != nil {
		_ = a.file.Remove()
		a.file = nil
	}
}

// resume ends an accept back-off.
func (a *listenerActor) resume() {
	if a.paused {
		a.paused = false
		if !a.shut {
			a.core.Want(poller.Readable)
			a.acceptLoop()
		}
	}
}

// Receive handles Listen and Accept; the core handles the rest.
func (a *listenerActor) Receive(ctx actor.Context) {
	a.ctx = ctx
	switch ctx.Message().(type) {
	case acceptMore:
		if !a.core.Closed() && !a.paused && !a.shut {
			a.acceptLoop()
			a.core.UpdateWants()
		}
		return
	}
	a.core.Receive(ctx, func(cmd proto.Message, reply core.Replier) bool {
		switch cmd := cmd.(type) {
		case *messages.Listen:
			a.listen(cmd, reply)
		case *messages.Shutdown:
			a.shutdown(cmd, reply)
		case *messages.Accept:
			if a.server != nil {
				reply.Reply(&messages.AcceptResult{Status: a.status("accept", errPushMode)})
				break
			}
			a.accept(cmd, reply)
		case *messages.GetStats:
			k := a.core.Counters()
			reply.Reply(&messages.ListenerStats{
				Accepted: k.Accepted.Load(), Rejected: k.Rejected.Load(),
				Live: uint64(max(a.stats.Live.Load(), 0)), AcceptErrors: k.AcceptErrors.Load(),
			})
		default:
			return false
		}
		return true
	})
}

func (a *listenerActor) listen(cmd *messages.Listen, reply core.Replier) {
	switch {
	case a.result != nil:
		reply.Reply(a.result)
		return
	case a.core.Closed():
		core.Reject(reply, cmd, messages.IOStatus_IO_STATUS_CLOSED)
		return
	}
	if cmd.GetAccepted() != nil {
		a.accepted = cmd.GetAccepted()
	}
	if cmd.GetLocal().IsUnix() {
		a.path = cmd.GetLocal().GetPath()
		err := a.openUnix(cmd)
		a.result = &messages.ListenResult{Status: a.status("listen", err)}
		if err != nil {
			a.core.Close(messages.IOStatus_IO_STATUS_CLOSED)
		} else {
			a.result.Local = messages.NewUnixEndpoint(a.path)
		}
	} else {
		ap, err := listenAddr(cmd)
		if err == nil {
			err = a.open(ap, cmd)
		}
		network := netFor(ap)
		if ap.Addr().Is4In6() {
			network = "tcp6"
		}
		a.result = &messages.ListenResult{Status: messages.StatusOf("listen", network, ap, err)}
		if err != nil {
			a.core.Close(messages.IOStatus_IO_STATUS_CLOSED)
		} else {
			a.result.Local = messages.NewEndpoint(a.local)
		}
	}
	err := a.result.GetStatus().Err()
	reply.Reply(a.result)
	if err == nil && a.server != nil {
		if a.server.idle > 0 {
			a.sweep = startIdleSweep(a.core.Runtime(), a.service, a.server.idle, &a.stats.Live)
		}
		a.core.Want(poller.Readable)
		a.acceptLoop()
	}
}

func (a *listenerActor) status(op string, err error) *messages.Status {
	if a.path != "" {
		return unixStatus(op, a.path, err)
	}
	return messages.StatusOf(op, netFor(a.local), a.local, err)
}

// unixStatus is the status of op on the Unix socket at path.
func unixStatus(op, path string, err error) *messages.Status {
	if err != nil {
		err = socket.PathError(op, "unix", path, err)
	}
	return messages.StatusOf(op, "unix", netip.AddrPort{}, err)
}

// openUnix opens a Unix-domain stream socket listening on a.path.
func (a *listenerActor) openUnix(cmd *messages.Listen) error {
	if err := socket.CheckUnixPath(a.path); err != nil {
		return err
	}
	if err := unixOptions(cmd.GetOptions(), cmd.GetAccepted()); err != nil {
		return err
	}
	sock, err := socket.Open(socket.Unix, socket.Stream)
	if err != nil {
		return err
	}
	file, err := sock.BindUnix(a.path)
	if err == nil {
		err = sock.Listen(int(cmd.GetBacklog()))
	}
	if err != nil {
		_ = file.Remove()
		_ = sock.Close()
		return err
	}
	if err := a.core.Attach(sock); err != nil {
		_ = file.Remove()
		return err
	}
	a.file = file
	a.service = socket.UnixPrefix + a.path
	a.core.SetService(a.service)
	return nil
}

// acceptLoop is push mode's accept: up to a batch of connections per
// readiness, each given a connection actor and a handler; past the
// connection limit a connection is closed at once and counted.
func (a *listenerActor) acceptLoop() {
	ls := a.core.Socket()
	for i := 0; i < a.server.batch; i++ {
		sock, remote, err := ls.Accept()
		switch {
		case err == unix.EAGAIN:
			return
		case errors.Is(err, unix.ECONNABORTED):
			continue
		case err != nil:
			// EMFILE, ENFILE, ENOBUFS...: pause and retry after a back-off
			// (5 ms, doubling to 1 s): the waiting connection brings no new
			// edge, and retrying at once would spin.
			a.core.Counters().AcceptErrors.Add(1)
			a.backoff = min(max(2*a.backoff, 5*time.Millisecond), time.Second)
			a.core.Runtime().Root().ActorSystem().EventStream.Publish(&AcceptFailed{
				Listener: a.core.Self(), Addr: a.local, Err: &socket.OpError{Op: "accept", Net: ls.Net(), Addr: a.local, Path: a.path, Err: err}, Backoff: a.backoff,
			})
			a.paused = true
			a.core.AfterFunc(a.backoff, a.resume)
			return
		}
		a.backoff = 0
		if int(a.stats.Live.Load()) >= a.server.maxConns {
			_ = sock.Close()
			a.core.Counters().Rejected.Add(1)
			continue
		}
		if err := sock.Apply(a.accepted.SocketOptions()); err != nil {
			_ = sock.Close()
			continue
		}
		a.stats.Live.Add(1)
		a.next = acceptedConn{sock: sock, remote: remote}
		pid, err := a.core.Runtime().SpawnParked(a.connProps, a.takeSpawned)
		a.next = acceptedConn{}
		if err != nil {
			if pid == nil {
				a.stats.Live.Add(-1) // never started, so never counts itself out
				_ = sock.Close()
			} // else the actor closes its socket and stops itself
			continue
		}
		a.core.Counters().Accepted.Add(1)
		if a.notify != nil {
			a.ctx.Send(a.notify, &messages.ConnectionOpened{Connection: messages.NewRef(pid)})
		}
	}
	a.core.Runtime().Root().Send(a.core.Self(), acceptMore{})
}

func (a *listenerActor) takeSpawned() *core.Core {
	c := a.spawned
	a.spawned = nil
	return c
}

// listenAddr is the address a Listen names: an Endpoint, or a literal
// "ip:port" (an empty ip means every interface, IPv4 and IPv6).
func listenAddr(cmd *messages.Listen) (netip.AddrPort, error) {
	if cmd.GetLocal() != nil {
		ap, err := cmd.GetLocal().AddrPort()
		if err != nil || !ap.Addr().IsValid() {
			return ap, socket.ErrInvalidAddress
		}
		return ap, nil
	}
	return socket.ParseLocal(cmd.GetHostPort())
}

func (a *listenerActor) open(ap netip.AddrPort, cmd *messages.Listen) error {
	// An IPv4-mapped IPv6 address ("[::ffff:127.0.0.1]:0") asks for an
	// IPv6 socket, dual stack unless V6Only.
	domain := socket.IPv4
	if ap.Addr().Is6() {
		domain = socket.IPv6
	}
	sock, err := socket.Open(domain, socket.Stream)
	if err != nil {
		return err
	}
	opts := socket.Options{ReuseAddr: true}
	if cmd.GetOptions() != nil {
		opts = cmd.GetOptions().SocketOptions()
	}
	if err := sock.Apply(opts); err != nil {
		_ = sock.Close()
		return err
	}
	if sock.Domain() == socket.IPv6 && !opts.V6Only {
		// Dual stack where the system default differs; a socket that
		// cannot be would silently serve IPv6 only, so say so instead.
		if err := sock.SetV6Only(false); err != nil {
			_ = sock.Close()
			return err
		}
	}
	if err := sock.Bind(ap); err != nil {
		_ = sock.Close()
		return err
	}
	if err := sock.Listen(int(cmd.GetBacklog())); err != nil {
		_ = sock.Close()
		return err
	}
	local, err := sock.LocalAddr()
	if err != nil {
		_ = sock.Close()
		return err
	}
	if err := a.core.Attach(sock); err != nil {
		return err
	}
	a.local = local
	a.service = local.String()
	a.core.SetService(a.service)
	return nil
}

func (a *listenerActor) accept(cmd *messages.Accept, reply core.Replier) {
	switch {
	case a.core.Closed():
		core.Reject(reply, cmd, messages.IOStatus_IO_STATUS_CLOSED)
		return
	case a.result == nil:
		reply.Reply(&messages.AcceptResult{Status: messages.StatusOf("accept", "tcp", netip.AddrPort{}, unix.EINVAL)})
		return
	case a.shut:
		reply.Reply(&messages.AcceptResult{Status: a.status("accept", net.ErrClosed)}) // shut down
		return
	}
	a.accepts.Push(struct{}{}, reply, core.Timeout(cmd.GetTimeoutMs()))
}

// serveAccepts accepts one connection per pending Accept, while the
// kernel has them.
func (a *listenerActor) serveAccepts() {
	ls := a.core.Socket()
	for a.accepts.Len() > 0 {
		sock, remote, err := ls.Accept()
		switch {
		case err == unix.EAGAIN:
			return
		case errors.Is(err, unix.ECONNABORTED):
			continue // reset before we took it: take the next
		case err != nil:
			// EMFILE, ENFILE, ENOBUFS...: every waiting Accept gets the
			// error, and nothing retries here, so there is no busy loop;
			// a new Accept tries again.
			a.accepts.FailAll(err)
			return
		}
		a.accepts.Reply(a.spawnClient(sock, remote))
	}
}

// answerAccept answers an Accept that ends unserved: timed out,
// withdrawn, refused, failed, cancelled by Shutdown or the socket closed.
func (a *listenerActor) answerAccept(_ *struct{}, reply core.Replier, err error) {
	reply.Reply(&messages.AcceptResult{Status: a.status("accept", err)})
}

// shutdown shuts the listening socket down. Shutting down its read side
// ends accepting, as coro::net's server.shutdown() does: the waiting
// Accepts are answered cancelled, later ones closed, and a push-mode
// listener accepts no more (its connections go on).
func (a *listenerActor) shutdown(cmd *messages.Shutdown, reply core.Replier) {
	st := a.core.Shutdown(cmd)
	how := cmd.GetHow()
	if st.Err() == nil && (how == messages.ShutdownHow_SHUTDOWN_HOW_READ || how == messages.ShutdownHow_SHUTDOWN_HOW_BOTH) {
		a.shut = true
		if a.accepts != nil {
			a.accepts.FailAll(errCancelled)
		}
	}
	reply.Reply(st)
}

func (a *listenerActor) spawnClient(sock *socket.Socket, remote netip.AddrPort) *messages.AcceptResult {
	if err := sock.Apply(a.accepted.SocketOptions()); err != nil {
		_ = sock.Close()
		return &messages.AcceptResult{Status: messages.StatusOf("accept", sock.Net(), remote, err)}
	}
	local, _ := sock.LocalAddr()
	var peer *messages.Credentials
	if a.path != "" {
		if c, err := sock.PeerCred(); err == nil {
			peer = messages.NewCredentials(c)
		}
	}
	pid, err := a.core.Runtime().SpawnSocketActor(acceptedProps(a.core.Runtime(), sock, local, remote, a.path))
	if err != nil {
		return &messages.AcceptResult{Status: messages.StatusOf("accept", sock.Net(), remote, net.ErrClosed)}
	}
	a.core.Counters().Accepted.Add(1)
	res := &messages.AcceptResult{
		Status: &messages.Status{Op: "accept"},
		Client: messages.NewRef(pid),
		Local:  messages.NewEndpoint(local),
		Remote: messages.NewEndpoint(remote),
		Peer:   peer,
	}
	if a.path != "" {
		res.Local, res.Remote = messages.NewUnixEndpoint(a.path), nil
	}
	return res
}

// acceptedProps are the props of the client actor of an accepted
// connection: already connected, so a Connect answers connected.
func acceptedProps(rt *core.Runtime, sock *socket.Socket, local, remote netip.AddrPort, path string) *actor.Props {
	return core.SocketProps(rt, sock, func(c *core.Core) (core.SocketActor, core.Protocol) {
		a := newClientActor(c)
		a.remote, a.path = remote, path // path: the Unix listener's, which its errors name
		a.conn = connector{state: connDone, result: &messages.ConnectResult{
			Status: messages.ConnectStatus_CONNECT_STATUS_CONNECTED,
			Local:  messages.NewEndpoint(local),
			Remote: messages.NewEndpoint(remote),
		}}
		return a, a
	})
}

// unixOptions refuses the socket options that mean nothing on a Unix
// socket (TCP's keepalive, IPv6-only, broadcast, port reuse), rather than
// let the kernel refuse them for every connection.
func unixOptions(opts ...*messages.Options) error {
	for _, o := range opts {
		switch {
		case o == nil:
		case o.GetKeepalive():
			return &socket.ReasonError{Err: socket.ErrInvalidArgument, Reason: "WithKeepAlive does not apply to a Unix socket"}
		case o.GetV6Only(), o.GetBroadcast(), o.GetReusePort():
			return &socket.ReasonError{Err: socket.ErrInvalidArgument, Reason: "WithV6Only, WithReusePort and broadcast do not apply to a Unix socket"}
		}
	}
	return nil
}
