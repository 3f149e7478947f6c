package core

import (
	"net/netip"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// Receive is the standard Receive of a socket actor: the core's own
// messages (lifecycle, readiness, deadlines, withdrawals), then the
// protocol's commands (handle reports false for a command it does not
// know), then the shared commands; anything else is refused as invalid.
// Afterwards the poller is told which directions are still wanted.
func (c *Core) Receive(ctx actor.Context, handle func(cmd proto.Message, reply Replier) bool) {
	if c.Handle(ctx) {
		return
	}
	cmd, reply, ok := RequestOf(ctx)
	if !ok {
		return
	}
	if (handle == nil || !handle(cmd, reply)) && !c.Command(ctx, cmd, reply) {
		Reject(reply, cmd, messages.IOStatus_IO_STATUS_INVALID_ARGUMENT)
	}
	c.UpdateWants()
}

// Turn runs fn, the handler of a local request call, as a turn of the actor on the
// caller's goroutine when the actor is idle (its mailbox empty, not
// running), with what Receive does after a command (UpdateWants), and
// reports whether it ran. It is the path of a local caller's request
// that needs no message: the actor's own handler runs, with the same
// exclusive hold of the actor a message would have, without the
// envelope, the process lookup and Proto.Actor's context around it.
// False (busy, parked, stopped, on a dispatcher): send call as a message.
// fn must not use the actor's actor.Context: no message is current.
func (c *Core) Turn(call *Call, fn func()) bool {
	if c.mb == nil {
		return false
	}
	return c.mb.turn(call, func() {
		fn()
		c.UpdateWants()
	})
}

// Command runs one of the shared commands and reports whether cmd was one.
func (c *Core) Command(ctx actor.Context, cmd proto.Message, reply Replier) bool {
	switch cmd := cmd.(type) {
	case *messages.Poll:
		c.poll(cmd, reply)
	case *messages.Shutdown:
		reply.Reply(c.Shutdown(cmd))
	case *messages.SetBlocking:
		if c.closed {
			reply.Reply(messages.Rejection(cmd, messages.IOStatus_IO_STATUS_CLOSED))
			return true
		}
		c.blocking = cmd.GetBlocking()
		reply.Reply(&messages.Status{Op: "setblocking"})
	case *messages.GetInfo:
		reply.Reply(c.info())
	case *messages.InjectFault:
		if !c.rt.faults {
			return false
		}
		panic("actornet: fault injected")
	case *messages.GetSocketStats:
		k := &c.counts
		reply.Reply(&messages.SocketStats{BytesIn: k.BytesIn.Load(), BytesOut: k.BytesOut.Load(),
			Reads: k.Reads.Load(), Writes: k.Writes.Load(), Errors: k.Errors.Load()})
	case *messages.Close:
		// The actor stops either way: a socket closed by a failure (a
		// refused connect, a failed listen) still has an actor to end.
		if c.self != nil {
			c.rt.closing(c.self)
		}
		if c.closed {
			reply.Reply(messages.Rejection(cmd, messages.IOStatus_IO_STATUS_CLOSED))
		} else {
			c.Close(messages.IOStatus_IO_STATUS_CANCELLED)
			reply.Reply(&messages.Status{Op: "close"})
		}
		ctx.Stop(c.self)
	default:
		return false
	}
	return true
}

// Status builds the status of op's outcome err on this socket.
func (c *Core) Status(op string, err error) *messages.Status {
	network := ""
	if c.sock != nil {
		network = c.sock.Net()
	}
	return messages.StatusOf(op, network, netip.AddrPort{}, err)
}

// Reject answers cmd as failed with code, in cmd's own result type.
func Reject(reply Replier, cmd proto.Message, code messages.IOStatus) {
	reply.Reply(messages.Rejection(cmd, code))
}

// notConnected is the answer to a socket command before Attach.
func (c *Core) notConnected(op string) *messages.Status {
	return c.Status(op, unix.ENOTCONN)
}

// Shutdown runs the Shutdown command: it shuts down one or both
// directions of the socket and returns the status to answer. A protocol
// that handles Shutdown itself (a listener ends accepting) calls it.
func (c *Core) Shutdown(cmd *messages.Shutdown) *messages.Status {
	switch {
	case c.closed:
		return messages.Rejection(cmd, messages.IOStatus_IO_STATUS_CLOSED).(*messages.Status)
	case c.sock == nil:
		return c.notConnected("shutdown")
	}
	var how socket.How
	switch cmd.GetHow() {
	case messages.ShutdownHow_SHUTDOWN_HOW_READ:
		how = socket.Read
	case messages.ShutdownHow_SHUTDOWN_HOW_WRITE:
		how = socket.Write
	case messages.ShutdownHow_SHUTDOWN_HOW_BOTH:
		how = socket.Both
	default:
		return c.Status("shutdown", socket.ErrInvalidArgument)
	}
	return c.Status("shutdown", c.sock.Shutdown(how))
}

func (c *Core) info() *messages.Info {
	if c.closed {
		return messages.Rejection(&messages.GetInfo{}, messages.IOStatus_IO_STATUS_CLOSED).(*messages.Info)
	}
	in := &messages.Info{Status: &messages.Status{Op: "getinfo"}, Blocking: c.blocking}
	if c.sock == nil {
		return in
	}
	in.Type = c.sock.Type().String()
	switch c.sock.Domain() {
	case socket.IPv4:
		in.Domain = messages.Domain_DOMAIN_IPV4
	case socket.IPv6:
		in.Domain = messages.Domain_DOMAIN_IPV6
	case socket.Unix:
		in.Domain = messages.Domain_DOMAIN_UNIX
		if p, err := c.sock.LocalPath(); err == nil && p != "" {
			in.Local = messages.NewUnixEndpoint(p)
		}
		if p, err := c.sock.RemotePath(); err == nil && p != "" {
			in.Remote = messages.NewUnixEndpoint(p)
		}
		if cred, err := c.sock.PeerCred(); err == nil {
			in.Peer = messages.NewCredentials(cred)
		}
	}
	if c.sock.Domain() != socket.Unix {
		if la, err := c.sock.LocalAddr(); err == nil {
			in.Local = messages.NewEndpoint(la)
		}
		if ra, err := c.sock.RemoteAddr(); err == nil {
			in.Remote = messages.NewEndpoint(ra)
		}
	}
	return in
}
