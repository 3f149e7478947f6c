package udp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// NetPacketConn is a net.PacketConn over a bound Peer, so Go code written for
// net.UDPConn runs on a peer actor. Deadlines withdraw the pending request
// from the actor when they pass. As with net.UDPConn, ReadFrom fills p and
// drops the rest of a longer datagram without an error (use Peer.RecvFrom
// to see truncation). Safe for concurrent use.
type NetPacketConn struct {
	p     *Peer
	local net.Addr
	dl    *actors.Deadlines
}

var _ net.PacketConn = (*NetPacketConn)(nil)

// NewNetPacketConn wraps p; closing the NetPacketConn closes the peer.
func NewNetPacketConn(p *Peer) *NetPacketConn {
	var local net.Addr = net.UDPAddrFromAddrPort(p.LocalAddr())
	if p.Path() != "" {
		local = &net.UnixAddr{Net: "unixgram", Name: p.Path()}
	}
	return &NetPacketConn{p: p, local: local, dl: actors.NewDeadlines()}
}

// ReadFrom reads one datagram into b.
func (c *NetPacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	if err := c.dl.Check(false); err != nil {
		return 0, nil, c.opError("read", netip.AddrPort{}, err)
	}
	f := c.p.RecvFromAsync(min(max(len(b), 1), MaxDatagram+1), 0)
	res, err := actors.AwaitDeadline(c.dl, c.p.System(), c.p.PID(), f, false)
	if err == nil {
		err = res.GetStatus().Err()
	}
	from, _ := res.GetSender().AddrPort()
	n := copy(b, res.GetData())
	if errors.Is(err, socket.ErrTruncated) {
		err = nil
	}
	if err != nil {
		return n, nil, c.opError("read", from, err)
	}
	if res.GetSender().IsUnix() {
		return n, &net.UnixAddr{Net: "unixgram", Name: res.GetSender().GetPath()}, nil
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// WriteTo sends b as one datagram to addr: a *net.UDPAddr, or a
// *net.UnixAddr from a Unix datagram peer.
func (c *NetPacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	var to netip.AddrPort
	var f *actors.Future[*messages.SendToResult]
	switch a := addr.(type) {
	case *net.UDPAddr:
		to = a.AddrPort()
		f = c.p.SendToAsync(to, b, 0)
	case *net.UnixAddr:
		f = c.p.SendToUnixAsync(a.Name, b, 0)
	default:
		return 0, c.opError("write", netip.AddrPort{}, socket.ErrInvalidAddress)
	}
	if err := c.dl.Check(true); err != nil {
		return 0, c.opError("write", to, err)
	}
	res, err := actors.AwaitDeadline(c.dl, c.p.System(), c.p.PID(), f, true)
	if err == nil {
		err = res.GetStatus().Err()
	}
	if err != nil {
		return 0, c.opError("write", to, err)
	}
	return int(res.GetBytesSent()), nil
}

func (c *NetPacketConn) opError(op string, addr netip.AddrPort, err error) error {
	var oe *socket.OpError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	if errors.Is(err, socket.ErrCancelled) {
		err = net.ErrClosed
	}
	return &socket.OpError{Op: op, Net: "udp", Addr: addr, Err: err}
}

// Close closes the peer; pending reads and writes return at once.
func (c *NetPacketConn) Close() error {
	if !c.dl.Close() {
		return &socket.OpError{Op: "close", Net: "udp", Err: net.ErrClosed}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.p.Close(ctx)
}

// LocalAddr returns the bound address, a *net.UDPAddr (a *net.UnixAddr
// for a Unix datagram peer).
func (c *NetPacketConn) LocalAddr() net.Addr { return c.local }

// SetDeadline sets the read and write deadlines.
func (c *NetPacketConn) SetDeadline(t time.Time) error {
	c.dl.Set(t, false)
	c.dl.Set(t, true)
	return nil
}

// SetReadDeadline sets the deadline of pending and future ReadFroms.
func (c *NetPacketConn) SetReadDeadline(t time.Time) error {
	c.dl.Set(t, false)
	return nil
}

// SetWriteDeadline sets the deadline of pending and future WriteTos.
func (c *NetPacketConn) SetWriteDeadline(t time.Time) error {
	c.dl.Set(t, true)
	return nil
}
