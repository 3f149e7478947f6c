// Package actors is actornet's shared plumbing: the System (an actor system
// with its pollers), the typed Future, the supervision that stops socket
// actors rather than restarting them, and the socket-actor Core that TCP
// and UDP actors embed.
//
// A socket actor owns its fd. Callers reach it only by messages: a Call
// (a command and the Future its answer resolves) from local Go code, or
// the bare protobuf command with a Sender from another actor or node.
//
//	sys, err := actors.Start()
//	if err != nil {
//		return err
//	}
//	defer sys.StopNow()
//	a, b, _ := socket.Pair(socket.Stream)
//	sa, _ := actors.SpawnSocket(sys, a)
//	sb, _ := actors.SpawnSocket(sys, b)
//	f := sa.PollAsync(messages.PollOp_POLL_OP_READ, time.Second) // a Future
//	_ = sb // ...write to b's peer...
//	res, err := f.Wait(ctx)
//
// Inside an actor, never Wait: use Future.PipeTo, or ReenterAfter with
// HandleContinuation, so the mailbox keeps flowing.
//
// Push mode: tcp's connection actors and udp's peer actors run a user
// handler as their behaviour, on their poller's goroutine. HandlerHost is
// the part that calls it (one message at a time, events raised meanwhile
// after, a panic through a supervisor strategy), EventContext the context
// an actor handler sees, Loan a read buffer a handler keeps past its call.
// A listener spawns each connection parked (SpawnParked), so that it
// starts on its own poller. The stall watchdog (WithStallBudget) moves a
// socket actor that holds its poller too long to the worker pool and
// hands the poller's loop to a new goroutine (Stalled).
//
// Metrics: every socket actor keeps Counters; System.Metrics sums them by
// kind and service, and WithMeterProvider exports them through
// OpenTelemetry.
//
// Remote: a system started WithRemote is a node (Proto.Actor remote on
// loopback unless told otherwise). Another node spawns socket actors on it
// with SpawnAt (the tcp and udp packages wrap this as tcp.NewClientAt,
// tcp.ListenAt and udp.BindAt) and drives them with the same handles:
// Request sees that the PID is remote and sends the bare command with a
// one-shot reply process as its sender. A node serves only actornet's and
// Proto.Actor's message types.
package actors
