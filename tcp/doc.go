// Package tcp holds actornet's TCP actors and their Go handles.
//
// Client is a TCP client actor (one connection): Dial, or NewClient and
// Connect, whose outcome (connected, invalid address, timeout, refused,
// error) is cached for every later Connect to the same address; Send,
// which writes everything and reports partial progress on timeout; Recv
// and RecvExact, served in order from one queue while sends flow from
// another, so a reader and a writer can be in flight at once; Poll,
// Shutdown, Abort and Close; LocalAddr and RemoteAddr. Every call has a
// blocking form that waits within a context (its deadline is the
// request's deadline; a timeout is one error, matching both
// os.ErrDeadlineExceeded and context.DeadlineExceeded) and an Async form
// that takes an explicit timeout and returns the typed future, for use
// inside actors. A future resolves with the command's result message, and
// a failure is in that message, not in the future's error: check
// res.GetStatus().Err() (the future's own error is for a request that got
// no answer at all, such as a cancelled wait).
//
//	c, err := tcp.Dial(ctx, sys, srv.Addr().String()) // a client actor; names are resolved
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer c.Close(ctx)
//	n, err := c.Send(ctx, []byte("ping")) // all of it, or an error with the count sent
//	if err != nil {
//		log.Fatal(err)
//	}
//	b, err := c.RecvExact(ctx, 4) // 4 bytes, or an error with the prefix read
//
// Listener is a listener actor. In pull mode (Listen) each Accept answers
// a Client for the next connection (Accepted turns an AcceptAsync's answer
// into one); accepted clients outlive the listener. Listen takes
// ListenOptions (WithBacklog, WithReusePort..., and the connection Options
// WithNoDelay, WithKeepAlive, WithBuffers, WithLinger, which then apply to
// every accepted connection); Serve and StartService take ServeOptions,
// the push-mode settings and every ListenOption, so a push-mode setting
// given to Listen does not compile.
//
// In push mode (Serve) the listener accepts by itself and gives each
// connection one actor, which owns the socket and runs a Handler as its
// behaviour: on the poller's goroutine, with no hop between the read,
// the handler and the write.
//
//	l, err := tcp.Serve(ctx, sys, "127.0.0.1:0", tcp.HandlerFunc(func(c *tcp.Conn, msg any) {
//		switch m := msg.(type) {
//		case *messages.Connected:
//			c.Write([]byte("hello\n"))
//		case *messages.Received:
//			c.Write(m.GetData()) // m.Data is lent for the call; reading resumes when we return
//		}
//	}))
//
// The handler gets Connected, Received (data lent for the call; Retain
// keeps a buffer until its Release), PeerClosed, Written/WriteFailed for
// writes with an ack, WriteQueueFilled/WriteQueueDrained, Closed or
// ErrorClosed, and every message other actors send to the connection's
// PID. Through its Conn it writes, closes, half-closes, aborts,
// pauses and resumes reading and talks to other actors; reading resumes
// by itself after each call. What it writes in answer to data that came
// before the peer's FIN is flushed before the connection closes.
// PerConnection gives each connection its own handler state, ActorHandler
// runs a Proto.Actor actor as the behaviour, and Register sends the events
// to a separate actor instead. A panic goes to WithHandlerSupervisor's
// strategy (restart by default: a fresh handler on the same socket).
// Handlers must not block unless the server runs WithBlockingHandlers.
// Everything is bounded: buffers lent at once, the write queue (reading
// pauses above its high watermark), live connections, the accept batch;
// EMFILE on accept backs off (AcceptFailed on the event stream).
// WithFraming (LengthPrefixed, Lines) makes each Received one frame and
// frames each Write; a frame over its limit closes the connection with
// ErrorClosed.
//
// StartService runs a push-mode listener under a supervising service
// actor: a crashed listener is replaced on the same address (open
// connections live on), and Stop drains until its context's deadline.
//
// NewClientAt, DialAt and ListenAt put the socket on another node (a
// system started with actors.WithRemote) and return the same Client and
// Listener handles; clients accepted there live there too.
//
// NetConn and NetListener adapt a Client and a Listener to net.Conn and
// net.Listener (deadlines included), so crypto/tls and net/http run on
// actors.
//
// WithTLS makes a push-mode server speak TLS: the handler starts at
// Connected once the handshake has completed (Conn.TLS and Connected.Tls
// say what it settled) and reads and writes plaintext; a handshake that
// fails or outlasts WithHandshakeTimeout closes the connection unseen by
// the handler, counted and published (HandshakeFailed). DialTLS is the
// client: it verifies the server against the dialed name, and its Send,
// Recv and RecvExact carry plaintext. crypto/tls's record layer runs
// inside the socket actor over an in-memory transport, its handshake as a
// coroutine the actor resumes at each Ready: nothing blocks the poller
// (tls.go says how).
//
// Unix-domain stream sockets go through the same calls: an address
// "unix:/run/app.sock" (a file) or "unix:@app" (Linux's abstract
// namespace). A listener replaces a stale socket file, refuses a path a
// live socket holds, and removes its file when it closes; Conn.PeerCred
// (and AcceptResult.Peer) give the connecting process's pid, uid and gid.
//
// Connection actors and client actors are socket actors (built on
// package actors/core): they stop, never restart, on a failure, and
// closing or stopping one closes its fd.
package tcp
