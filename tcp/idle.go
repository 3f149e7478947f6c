package tcp

// The idle timeout of push-mode connections: one timer per listener, not
// one per connection.

import (
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"weak"

	"github.com/actornet/actornet/actors/core"
	"github.com/asynkron/protoactor-go/actor"
)

// errIdle is the cause of an idle close.
var errIdle = fmt.Errorf("no bytes moved for the idle timeout: %w", os.ErrDeadlineExceeded)

// idleTick asks a connection whether it moved bytes since the last tick.
type idleTick struct{}

// idleCheck is a connection's part of the idle timeout: its byte counts at
// the last tick, and how many ticks in a row saw them unchanged.
type idleCheck struct {
	seen  uint64
	last  int64 // when the last tick was taken, in ns
	quiet int8
}

// idleSweep runs the idle timeout of one listener's connections: every
// half timeout it sends each of them an idleTick, finding them through the
// system's socket table, so a connection pays nothing for it but its
// counters. It ends when the system stops, or once the listener has closed
// and its last connection is gone.
type idleSweep struct {
	// rt is weak: a pending tick does not keep a stopped system alive.
	rt      weak.Pointer[core.Runtime]
	service string
	every   time.Duration
	live    *atomic.Int64
	closed  atomic.Bool
	timer   *time.Timer
}

func startIdleSweep(rt *core.Runtime, service string, idle time.Duration, live *atomic.Int64) *idleSweep {
	s := &idleSweep{rt: weak.Make(rt), service: service, every: idle / 2, live: live}
	s.timer = time.AfterFunc(time.Hour, s.tick)
	s.timer.Reset(s.every)
	return s
}

func (s *idleSweep) tick() {
	rt := s.rt.Value()
	if rt == nil || rt.Stopped() || (s.closed.Load() && s.live.Load() <= 0) {
		return
	}
	root := rt.Root()
	rt.EachSocket("tcp.conn", s.service, func(pid *actor.PID) { root.Send(pid, idleTick{}) })
	s.timer.Reset(s.every)
}

// close ends the sweep once its listener has closed: at once if no
// connection is left, else at the tick that finds none.
func (s *idleSweep) close() {
	s.closed.Store(true)
	if s.live.Load() <= 0 {
		s.timer.Stop()
	}
}

// idleTick checks the connection's byte counts: a third tick in a row
// that sees them unchanged closes it, so a connection closes between one
// and one and a half idle timeouts after it last moved a byte. A tick
// that follows the last by less than a quarter timeout (a second listener
// on the same address sweeps it too) is ignored.
func (a *connActor) idleTick() {
	if a.mode == closedConn {
		return
	}
	now := time.Now().UnixNano()
	if now-a.idle.last < int64(a.cfg.idle/4) {
		return
	}
	a.idle.last = now
	k := a.core.Counters()
	seen := k.Reads.Load() + k.Writes.Load()
	if seen != a.idle.seen {
		a.idle.seen, a.idle.quiet = seen, 0
		return
	}
	if a.idle.quiet++; a.idle.quiet >= 2 {
		a.finish("idle", errIdle)
		a.core.UpdateWants()
	}
}
