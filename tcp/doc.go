// Package tcp holds actornet's TCP actors and their Go handles.
//
// Client is a TCP client actor (one connection): Connect with a status
// (connected, invalid_address, timeout, refused, error) cached for every
// later Connect; Send, which writes everything and reports partial
// progress on timeout; Recv and RecvExact, served in order from one queue
// while sends flow from another, so a reader and a writer can be in flight
// at once; Poll, Shutdown, Abort and Close. Every call has a blocking form
// taking a context and an Async form returning the typed future, for use
// inside actors.
//
//	c, err := tcp.Dial(ctx, sys, "127.0.0.1:7000")
//	if err != nil {
//		return err
//	}
//	defer c.Close(ctx)
//	if _, err := c.Send(ctx, []byte("ping"), time.Second); err != nil {
//		return err
//	}
//	pong, err := c.RecvExact(ctx, 4, time.Second)
//
// Listener is a listener actor. In pull mode (Listen) each Accept answers
// a Client for the next connection; accepted clients outlive the listener.
// In push mode (Serve) the listener accepts by itself and gives each
// connection a connection actor and a handler actor (the connection's
// child, supervised by WithHandlerSupervisor's strategy, restart by
// default). The handler gets Connected, Received under read credit,
// PeerClosed, Written/WriteFailed, WriteQueueFilled/WriteQueueDrained and
// Closed or ErrorClosed, and sends its connection (ctx.Parent()) Write,
// ResumeReading, Close, ConfirmedClose and Abort. Everything is bounded:
// read credit, the write queue, live connections, the accept batch; EMFILE
// on accept backs off (AcceptFailed on the event stream). WithFraming
// (LengthPrefixed, Lines) makes each Received one frame and frames each
// Write; a frame over its limit closes the connection with ErrorClosed.
//
// StartService runs a push-mode listener under a supervising service
// actor: a crashed listener is replaced on the same address (open
// connections live on), and Stop drains with a grace period.
//
// NewClientAt and ListenAt put the socket on another node (a system
// started with actors.WithRemote) and return the same Client and Listener
// handles; clients accepted there live there too.
//
// Conn and NetListener adapt a Client and a Listener to net.Conn and
// net.Listener (deadlines included), so crypto/tls and net/http run on
// actors.
//
// Connection and client actors are socket actors (actors.Core): they stop,
// never restart, on a failure, and closing or stopping one closes its fd.
package tcp
