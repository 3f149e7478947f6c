// Package poller is actornet's readiness layer: Epoll, a plain epoll
// instance with an eventfd wake-up (Linux), or URing, io_uring readiness
// with one multishot poll request per fd (Linux, WithBackend(BackendIOUring);
// where the kernel refuses io_uring the poller uses epoll and the process
// logs so once), or Kqueue, a plain kqueue with an EVFILT_USER wake-up
// (macOS, FreeBSD); Poller, one wait loop on its own goroutine that sends
// Ready messages to the socket actors that own the fds; and the poller
// actor (Spawn, Actor) that owns a loop in the actor system. It does no
// socket I/O of its own making, with one exception: on io_uring a
// registration made with RegisterRecv has its bytes received by the
// kernel into the poller's provided buffers (a multishot receive), and
// its owner takes them with NextRecv instead of calling read(2). Each
// receive is armed with a byte limit (Linux 6.17), so a registration
// holds at most its limit of buffers (RegisterRecv's; a push-mode TCP
// connection's read credit, at most MaxRecvBuffers) while its owner does
// not ask for more, however fast its peer sends. It is on by default;
// ACTORNET_URING_RECV=0 (RecvEnv) in the environment turns it off for
// pollers started afterwards, and on a kernel without the limit io_uring
// serves readiness alone.
//
// Each fd is registered once, edge-triggered, for input, output and peer
// hang-up. A Registration carries, per direction, a "wanted" flag the actor
// sets while it waits on that direction and an "in flight" flag the poller
// sets when it sends a Ready: at most one Ready per fd and direction is in
// flight, and no epoll_ctl (kevent) is made per operation. The actor calls Consumed
// before it retries its syscall, so no edge is lost.
//
// The kernel token of each fd carries a generation checked against an
// fd-indexed table, so an event for a closed fd never reaches the actor
// that gets the reused number.
//
//	p, err := poller.New(system.Root)
//	reg, err := p.Register(fd, pid)
//	reg.Want(poller.Readable)
//	// pid receives *poller.Ready{Dir: Readable, Reg: reg}; it calls
//	// reg.Consumed(poller.Readable), reads until EAGAIN, and waits again.
//	_ = reg.Deregister() // before closing fd
//	_ = p.Stop()
//
// # The poller actor
//
// actors.Start spawns one poller actor per poller, named
// "actornet/poller/0", "actornet/poller/1"..., under a guardian with
// Strategy. The data path does not pass through its mailbox: Register,
// Want and Consumed stay direct thread-safe calls on the loop, and each
// Ready is the registration's preallocated message. The mailbox carries
// what concerns the poller as a whole:
//
//   - messages.GetPollerStats, answered by messages.PollerStats (events
//     per direction, wake-ups, blocking waits and polls, fds watched, the
//     longest loop iteration, handoffs, restarts); Actor.Stats gives the
//     same in Go.
//   - a stop (actor.Stop, a poison pill, the system's Stop): the loop
//     ends, every socket still registered is told (*Dropped: it answers
//     its pending requests with a *socket.PollerError and closes), and
//     watchers get *actor.Terminated.
//   - the failure of its loop (an epoll_wait error other than EINTR, a
//     panic, messages.InjectFault on a system started with fault
//     injection): a fresh loop on a fresh epoll instance takes over new
//     sockets at once, every socket of the failed loop is told (*Dropped),
//     *messages.PollerFailed is published on the event stream, and the
//     actor fails so that its supervisor counts it: restarted (same PID)
//     up to ten times a minute, stopped after that.
//
// # How the loop sleeps
//
// After a batch the loop polls once more without blocking. If nothing is
// ready it yields the processor twice, looking again after each (the
// goroutines its Ready messages woke may make more I/O at once), before
// its blocking wait. A blocking wait made the ordinary
// way keeps the loop's P, so goroutines that others wake (Go's netpoller,
// timers) wait for sysmon to take it back, and the loop's thread wakes
// without a P. So when the loop's recent waits lasted longer than 200 µs
// on average, it gives the P back (Stats.ReleasedWaits counts them): on
// epoll it parks in Go's netpoller until the epoll instance is readable
// (park_linux.go), so no other thread is woken; on io_uring it parks the
// same way on the ring's fd while the program runs on one P
// (uring_park_linux.go), and on more it blocks after the runtime's
// entersyscallblock, which hands the P to another thread (kqueue's waits
// keep the P). Short waits, a busy echo server's, keep the P: releasing
// costs more than they save.
//
// On Linux a loop whose recent blocking waits brought 16 units of work or
// more on average (events, and what owners said they held:
// Registration.Worked) first gives its core away once (sched_yield, with
// its P held) and looks again, and makes the blocking wait only if that
// finds nothing: the programs that share its core and feed it run until
// they wait, and the loop serves what they sent in one batch (sleep.go's
// yieldFirst says what it gains and what it costs). Stats.BlockingWaits
// counts such a wait whether the look or the wait ended it.
package poller
