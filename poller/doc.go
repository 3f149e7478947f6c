// Package poller is actornet's readiness layer: Epoll, a plain epoll
// instance with an eventfd wake-up, and Poller, the poller actor that runs
// one epoll_wait loop on its own goroutine and sends Ready messages to the
// socket actors that own the fds. It does no socket I/O.
//
// Each fd is registered once, edge-triggered, for input, output and peer
// hang-up. A Registration carries, per direction, a "wanted" flag the actor
// sets while it waits on that direction and an "in flight" flag the poller
// sets when it sends a Ready: at most one Ready per fd and direction is in
// flight, and no epoll_ctl is made per operation. The actor calls Consumed
// before it retries its syscall, so no edge is lost.
//
// The epoll token of each fd carries a generation checked against an
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
package poller
