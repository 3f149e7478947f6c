package messages

import (
	"time"

	"github.com/actornet/actornet/socket"
)

// SocketOptions converts the wire options to socket.Options; nil gives the
// zero value (kernel defaults).
func (o *Options) SocketOptions() socket.Options {
	if o == nil {
		return socket.Options{}
	}
	so := socket.Options{
		ReuseAddr:  o.ReuseAddr,
		ReusePort:  o.ReusePort,
		NoDelay:    o.NoDelay,
		RecvBuffer: int(o.RecvBuffer),
		SendBuffer: int(o.SendBuffer),
		Broadcast:  o.Broadcast,
		V6Only:     o.V6Only,
		KeepAlive: socket.KeepAlive{
			Enable:   o.Keepalive,
			Idle:     time.Duration(o.KeepaliveIdleS) * time.Second,
			Interval: time.Duration(o.KeepaliveIntervalS) * time.Second,
			Count:    int(o.KeepaliveCount),
		},
	}
	if o.LingerS != nil {
		d := time.Duration(*o.LingerS) * time.Second
		so.Linger = &d
	}
	return so
}
