// Package udp holds actornet's UDP peer actor and its Go handle, after
// coro::net's udp::peer.
//
// The constructors follow package tcp's: NewPeer (send-only: its socket
// opens on the first send, of that destination's family) as tcp.NewClient,
// Dial (a connected peer) as tcp.Dial, Bind (a bound peer) as tcp.Listen,
// Serve and StartService as theirs, and NewPeerAt, DialAt and BindAt put
// the socket on another node (a system started with actors.WithRemote).
// Blocking calls wait within a context, whose deadline is the request's;
// the Async forms take an explicit timeout and return the typed future,
// which resolves with the command's result message: a failure is in that
// message (res.GetStatus().Err()), not in the future's error.
//
// SendTo sends one datagram (an empty one too, as Go's net does; one over
// what the family allows answers message_too_big); RecvFrom receives one
// and its sender, and reports a datagram longer than the buffer as
// truncated (RecvFromAsync's result tells its real length) — never a
// silent cut; on a send-only peer it answers udp_not_bound. Connect fixes
// the destination (connected mode: Send, Recv, and an ICMP
// port-unreachable surfaces as connection_refused). Broadcast and
// multicast (JoinGroup with interface, TTL and loopback) are options.
// NetPacketConn adapts a Peer to net.PacketConn.
//
// Serve makes a push-mode peer: its Handler is the peer actor's behaviour,
// called inline (on the poller's goroutine, or the worker pool with
// WithBlockingHandlers) with each datagram as a *messages.Datagram whose
// Data is lent for the call, and with every message other actors send to
// the peer's PID. The handler answers through its *Conn (SendTo,
// PauseReading, ResumeReading, Close, Retain, Respond...); reading goes on
// by itself when it returns. A handler that falls behind makes the kernel
// drop datagrams, never the process grow, and the drops are counted
// (SO_RXQ_OVFL) in Stats (on Linux: macOS and FreeBSD do not count them,
// Drops stays 0 there). A handler's panic goes to its supervisor
// strategy: by default a fresh handler (PerSocket, ActorHandler) takes
// over the same socket. StartService runs a push-mode peer under a
// supervising service actor: a peer that dies (a crash, or its handler
// closing it) is replaced on the same address.
//
// On Linux a push-mode peer reads the datagrams waiting with one recvmmsg
// and sends what its handler sent while served them with one sendmmsg as
// the batch ends (push_batch.go): a datagram sent so that the kernel then
// refuses is counted and dropped, as a queued one is.
//
//	echo := udp.HandlerFunc(func(c *udp.Conn, msg any) {
//		if d, ok := msg.(*messages.Datagram); ok {
//			c.SendTo(c.From(), d.GetData()) // lent Data may be sent as it is
//		}
//	})
//	srv, err := udp.Serve(ctx, sys, "127.0.0.1:0", echo)
//	if err != nil {
//		log.Fatal(err)
//	}
//
// Pull mode, with the Go handle:
//
//	a, err := udp.Bind(ctx, sys, "127.0.0.1:0") // a bound peer; port 0: see LocalAddr
//	if err != nil {
//		log.Fatal(err)
//	}
//	b, err := udp.Bind(ctx, sys, "127.0.0.1:0")
//	if err != nil {
//		log.Fatal(err)
//	}
//
//	_, err = a.SendTo(ctx, b.LocalAddr(), []byte("ping")) // one datagram (an empty one too, as in Go's net)
//	if err != nil {
//		log.Fatal(err)
//	}
//	data, from, err := b.RecvFrom(ctx, 1500) // one datagram and its sender; a longer one is cut, with an error
//
// Unix-domain datagram sockets go through the same calls with an address
// "unix:/path" or "unix:@name": Bind, Serve and Dial take it, SendToUnix
// and RecvFromUnix address datagrams by path (Conn.FromPath and
// Conn.SendToUnix in push mode), and a peer that sends without binding
// gets a name the kernel picks, so that it can be answered.
package udp
