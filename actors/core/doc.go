// Package core is the socket-actor runtime under package actors: what the
// protocol packages (tcp, udp) build their actors from. Applications do
// not need it; a package that adds a new kind of socket actor does.
//
// A Runtime (System.Runtime) owns the pollers, the worker pool, the
// guardian that stops failed socket actors, the stall watchdog and the
// registry of live socket actors behind System.Metrics and System.Stop.
//
// A socket actor is built with SocketProps around a Core: the Core owns
// the socket and its poller registration, answers the shared commands
// (Poll, Shutdown, SetBlocking, GetInfo, Close), and closes the fd when
// the actor stops, crashes or is restarted. Its pending requests live in
// Queues the Core owns: each request has the per-socket bound
// (MaxPending), a timer only if it has a deadline and has to wait, and
// is answered exactly once, by the protocol when served, or by the Core
// when it expires, its caller withdraws it (Withdrawal) or the socket
// closes. The actor's Protocol (or Hooks) carries what is
// protocol-specific: readiness, and interest the queues do not express.
//
// Socket actors run on an inline mailbox (NewInlineMailbox): a message is
// handled on the poster's goroutine (the poller's, for readiness), one at
// a time, with no allocation. A Ready goes from the mailbox to the Core,
// never through the actor's Receive. Core.Turn runs a local caller's
// request as a turn of an idle actor with no message at all (the actor's
// own handler, the same exclusive hold). HandlerHost runs a push-mode handler inside
// such an actor (one message at a time, events raised meanwhile after, a
// panic through a supervisor strategy); LentBuffer and Loan lend read
// buffers to it by identity.
//
// Replier, Call and RequestOf are the request protocol: a local caller
// sends a Call carrying its future (actors.Future is a Replier); a remote
// one sends the bare protobuf command with a Sender.
package core
