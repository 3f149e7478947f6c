// Package actors is what every actornet program starts with: the System
// (an actor system with its pollers), the typed Future, and the
// supervision that stops socket actors rather than restarting them. The
// socket-actor runtime under it (the core every socket actor embeds, its
// request queues, the inline mailbox, the stall watchdog) is package
// actors/core, for the protocol packages.
//
// A socket actor owns its fd. Callers reach it only by messages: a Call
// (a command and the Future its answer resolves) from local Go code, or
// the bare protobuf command with a Sender from another actor or node.
// Start gives a System, and SpawnSocket hands a socket to a new socket
// actor:
//
//	sys, err := actors.Start() // actor system + one poller per CPU
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer sys.StopNow() // stops every socket actor, closes every fd
//
//	a, peer, err := socket.Pair(socket.Stream)
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer peer.Close()
//	s, err := actors.SpawnSocket(sys, a) // the actor now owns a's fd
//
// Socket's blocking calls take a context, whose deadline is the request's
// deadline (Poll(ctx, PollRead) answers PollTimeout then, with an error
// matching both os.ErrDeadlineExceeded and context.DeadlineExceeded); the
// Async forms take an explicit timeout and return the Future:
//
//	f := s.PollAsync(actors.PollRead, time.Second) // a Future; 0 = no timeout
//	if _, err := peer.Write([]byte("ping")); err != nil {
//		log.Fatal(err)
//	}
//	res, err := f.Wait(context.Background()) // plain Go; inside an actor use f.PipeTo or actors.ReenterAfter
//
// The protobuf enums have Go names here: PollRead, PollWrite and
// PollReadWrite (PollOp); PollEvent, PollTimeout, PollError, PollClosed
// and PollCancelled (PollStatus); ShutdownRead, ShutdownWrite and
// ShutdownBoth (ShutdownHow).
//
// Inside an actor, never Wait: use Future.PipeTo, or ReenterAfter with
// HandleContinuation, so the mailbox keeps flowing.
//
// Push mode: tcp's connection actors and udp's peer actors run a user
// handler as their behaviour, on their poller's goroutine; a Loan is a
// read buffer a handler keeps past its call. The stall watchdog
// (WithStallBudget) moves a socket actor that holds its poller too long
// to the worker pool and hands the poller's loop to a new goroutine
// (Stalled, on the event stream).
//
// Metrics: every socket actor keeps counters; System.Metrics sums them by
// kind and service (MetricKey, Totals) and adds each poller's
// (PollerStats), and WithMeterProvider exports them through
// OpenTelemetry.
//
// Pollers: each poller is an actor, "actornet/poller/0" and on
// (PollerPIDs), supervised: it answers messages.GetPollerStats, stops on
// a Stop (its watchers get Terminated, its sockets close), and when its
// wait loop fails it starts a fresh one for new sockets, closes the
// sockets the failed loop watched (their pending requests end with a
// *socket.PollerError naming it) and publishes *messages.PollerFailed.
//
// Remote: a system started WithRemote is a node (Proto.Actor remote on
// loopback unless told otherwise). Another node spawns socket actors on it
// with SpawnAt (the tcp and udp packages wrap this as tcp.NewClientAt,
// tcp.DialAt, tcp.ListenAt, udp.NewPeerAt, udp.DialAt and udp.BindAt)
// and drives them with the same handles:
// Request sees that the PID is remote and sends the bare command with a
// one-shot reply process as its sender. A node serves only actornet's and
// Proto.Actor's message types.
//
// Security: nodes beyond loopback talk over mutual TLS (WithRemoteTLS,
// MutualTLS), or Start refuses them unless WithInsecureRemote says the
// network is trusted. What other nodes may open here is the node owner's
// Policy (WithRemotePolicy; NewAllowlist builds one from rules naming
// callers by their certificate, kinds, destinations and addresses): by
// default a node refuses every remote spawn, connect, datagram, listen
// and bind with a permission error (socket.ErrPermission) naming the rule,
// counted in Metrics.Remote. Socket actors' names carry 128 random bits,
// so a socket's PID is a capability: only a node that was given it can
// drive the socket. A node closes the sockets it opened for another when
// it loses that node, passes no message on to a third, and closes a
// connection that has not finished its handshake within
// RemoteHandshakeTimeout.
//
// Cluster: a system started WithCluster is a member of a Proto.Actor
// cluster (and a node as above): ClusterConfig names the cluster, this
// node's address, the seeds and the kinds (virtual actors) it hosts.
// Membership is actornet's own provider unless ClusterConfig.Provider
// names another cluster.ClusterProvider (consul, etcd, k8s, zk, or your
// own): each node serves GET /_health on its host, port+1 (ProviderPort),
// over HTTPS with the nodes' mutual TLS when they have it, and polls
// every seed's. System.Get
// looks an identity up by name and kind, System.Members is the
// membership, and Stop leaves the cluster before it stops remote. A
// cluster node also decodes the cluster's own types and those of the
// packages in ClusterConfig.Served.
package actors
