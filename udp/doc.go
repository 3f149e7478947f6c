// Package udp holds actornet's UDP peer actor and its Go handle, after
// coro::net's udp::peer.
//
// A Peer is bound (Bind) or send-only (NewSendOnly for a given domain, or
// NewPeer, whose socket opens on the first send, of that destination's
// family). Serve makes a push-mode peer: a handler actor gets each
// datagram as a Datagram under read credit, and kernel drops are counted
// (SO_RXQ_OVFL) in Stats. SendTo sends one datagram
// (an empty one answers ok without sending; one over 65,535 bytes answers
// message_too_big); RecvFrom receives one, with its sender, and reports a
// datagram longer than the buffer as truncated with its real length —
// never a silent cut; on a send-only peer it answers udp_not_bound.
// Connect fixes the destination (connected mode: Send, Recv, and an ICMP
// port-unreachable surfaces as connection_refused). Broadcast and
// multicast (JoinGroup with interface, TTL and loopback) are options.
// StartService runs a push-mode peer under a supervising service actor: a
// peer that dies (crash, or its handler's death) is replaced on the same
// address. PacketConn adapts a Peer to net.PacketConn. BindAt binds a peer on
// another node (a system started with actors.WithRemote).
//
//	p, err := udp.Bind(ctx, sys, "127.0.0.1:0")
//	if err != nil {
//		return err
//	}
//	defer p.Close(ctx)
//	d, err := p.RecvFrom(ctx, 1500, time.Second)
//	_, err = p.SendTo(ctx, d.From, d.Data, time.Second) // echo
package udp
