package poller

import (
	"time"

	"github.com/actornet/actornet/messages"
)

// Stats are a poller's counters. A poller actor's Stats sum every wait
// loop it has run (Restarts of them after a failure); Registrations is the
// live loop's.
type Stats struct {
	// Name is the poller actor's name ("actornet/poller/0"); empty for a
	// Poller made with New.
	Name string
	// Readable and Writable count the Ready messages delivered per
	// direction.
	Readable, Writable uint64
	// Wakeups counts the wake-ups of the loop through its eventfd (an
	// Again while it slept, a stop).
	Wakeups uint64
	// BlockingWaits counts the epoll_wait calls that could sleep, Polls
	// those that could not (after a busy batch). The loop publishes them
	// when it is about to sleep and every 64 polls, so that a busy loop
	// pays no atomic operation per turn for them: a snapshot taken while
	// it is busy may lag by up to 63 polls.
	BlockingWaits, Polls uint64
	// ReleasedWaits counts the blocking waits (of BlockingWaits) made
	// after giving the goroutine's P back to the Go scheduler, because the
	// loop's recent waits were long (see handoffAfter in sleep.go).
	ReleasedWaits uint64
	// Registrations is the number of fds watched now.
	Registrations int
	// LongestIteration is the longest the loop took to deliver the events
	// of one epoll_wait: how long a socket may have waited behind the
	// others of its poller.
	LongestIteration time.Duration
	// Handoffs counts the loops the stall watchdog replaced (Handoff).
	Handoffs uint64
	// Restarts counts the fresh loops started after a failure.
	Restarts uint64
}

// Stats returns the poller's counters. It is safe from any goroutine and
// costs a few atomic loads.
func (p *Poller) Stats() Stats {
	return Stats{
		Readable:         p.delivered[Readable].Load(),
		Writable:         p.delivered[Writable].Load(),
		Wakeups:          p.wakeups.Load(),
		BlockingWaits:    p.blocking.Load(),
		Polls:            p.polls.Load(),
		ReleasedWaits:    p.released.Load(),
		Registrations:    p.Len(),
		LongestIteration: time.Duration(p.longest.Load()),
		Handoffs:         p.handoffs.Load(),
	}
}

// add sums the counters of a loop that has ended into s.
func (s *Stats) add(o Stats) {
	s.Readable += o.Readable
	s.Writable += o.Writable
	s.Wakeups += o.Wakeups
	s.BlockingWaits += o.BlockingWaits
	s.Polls += o.Polls
	s.ReleasedWaits += o.ReleasedWaits
	s.Handoffs += o.Handoffs
	s.LongestIteration = max(s.LongestIteration, o.LongestIteration)
}

// Proto returns the wire form of s, the answer to messages.GetPollerStats.
func (s Stats) Proto() *messages.PollerStats {
	return &messages.PollerStats{
		Name:               s.Name,
		Readable:           s.Readable,
		Writable:           s.Writable,
		Wakeups:            s.Wakeups,
		BlockingWaits:      s.BlockingWaits,
		Polls:              s.Polls,
		ReleasedWaits:      s.ReleasedWaits,
		Registrations:      uint64(s.Registrations),
		LongestIterationNs: uint64(s.LongestIteration),
		Handoffs:           s.Handoffs,
		Restarts:           s.Restarts,
	}
}

// StatsOf converts the wire form back.
func StatsOf(m *messages.PollerStats) Stats {
	return Stats{
		Name:             m.GetName(),
		Readable:         m.GetReadable(),
		Writable:         m.GetWritable(),
		Wakeups:          m.GetWakeups(),
		BlockingWaits:    m.GetBlockingWaits(),
		Polls:            m.GetPolls(),
		Registrations:    int(m.GetRegistrations()),
		LongestIteration: time.Duration(m.GetLongestIterationNs()),
		Handoffs:         m.GetHandoffs(),
		Restarts:         m.GetRestarts(),
	}
}
