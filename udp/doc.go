// Package udp holds actornet's UDP peer actor and its Go handle, after
// coro::net's udp::peer.
//
// A Peer is bound (Bind) or send-only (NewSendOnly for a given domain, or
// NewPeer, whose socket opens on the first send, of that destination's
// family). SendTo sends one datagram (an empty one answers ok without
// sending; one over 65,535 bytes answers message_too_big); RecvFrom
// receives one, with its sender, and reports a datagram longer than the
// buffer as truncated with its real length — never a silent cut; on a
// send-only peer it answers udp_not_bound. Connect fixes the destination
// (connected mode: Send, Recv, and an ICMP port-unreachable surfaces as
// connection_refused). Broadcast and multicast (JoinGroup with interface,
// TTL and loopback) are options. PacketConn adapts a Peer to
// net.PacketConn. BindAt binds a peer on another node (a system started
// with actors.WithRemote).
//
// Serve makes a push-mode peer: its Handler is the peer actor's behaviour,
// called inline (on the poller's goroutine, or the worker pool with
// WithBlockingHandlers) with each datagram as a *messages.Datagram whose
// Data is lent for the call, and with every message other actors send to
// the peer's PID. The handler answers through its *Conn (SendTo,
// PauseReading, ResumeReading, Close, Retain, Respond...); reading goes on
// by itself when it returns. A handler that falls behind makes the kernel
// drop datagrams, never the process grow, and the drops are counted
// (SO_RXQ_OVFL) in Stats. A handler's panic goes to its supervisor
// strategy: by default a fresh handler (PerSocket, ActorHandler) takes
// over the same socket. StartService runs a push-mode peer under a
// supervising service actor: a peer that dies (a crash, or its handler
// closing it) is replaced on the same address.
//
//	echo := udp.HandlerFunc(func(c *udp.Conn, msg any) {
//		if d, ok := msg.(*messages.Datagram); ok {
//			c.SendTo(c.From(), d.GetData()) // lent Data may be sent as it is
//		}
//	})
//	srv, err := udp.Serve(ctx, sys, "[::1]:0", echo)
//	if err != nil {
//		return err
//	}
//	defer srv.Close(ctx)
//
// Pull mode, with the Go handle:
//
//	p, err := udp.Bind(ctx, sys, "127.0.0.1:0")
//	if err != nil {
//		return err
//	}
//	defer p.Close(ctx)
//	d, err := p.RecvFrom(ctx, 1500, time.Second)
//	_, err = p.SendTo(ctx, d.From, d.Data, time.Second) // echo
package udp
