package chatroom

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/eventstream"

	"github.com/actornet/actornet/actors"
)

// The door's messages, inside one node: plain Go values.
type (
	// enter subscribes a member to where the room is: the door sends it
	// roomAt now (if known) and at every move.
	enter struct{ member *actor.PID }
	// exit ends the subscription.
	exit struct{ member *actor.PID }
	// roomAt tells a member where the room's activation is.
	roomAt struct{ pid *actor.PID }
	// resolved is the answer of the door's lookup number gen (nil: none
	// yet).
	resolved struct {
		pid *actor.PID
		gen uint64
	}
	// retry asks the door to look up again.
	retry struct{}
	// whereNow asks the door for the room's PID (nil if unknown); the
	// answer is roomAt. For the example's own reports and tests.
	whereNow struct{}
)

// retryEvery is how long the door waits before looking the room up
// again after a lookup found no activation.
const retryEvery = 50 * time.Millisecond

// waitDead and waitStopped bound how long the door waits for the node
// of a room that stopped to leave the topology before it looks the room
// up anyway: waitDead when the link to the node was lost (past it, the
// link only dropped), waitStopped when the room stopped with its node
// still there: the node leaves the cluster (Stop), or the room moved to
// a member that joined. A lookup that asks a node that is going away
// waits on remote's dial to it, two seconds or more.
const (
	waitDead    = 5 * time.Second
	waitStopped = time.Second
)

// maxLookups bounds the door's lookups running at once.
const maxLookups = 4

// door is a node's way in to one room: it looks up the room's
// activation through the cluster (off its mailbox: the lookup blocks),
// watches it, and tells its node's members where it is. A new lookup runs
// when the activation stops (its node died, or it moved) and at every
// topology change, once the node that hosted it is no longer a member:
// the lookup would otherwise ask a dead node to activate it.
type door struct {
	sys       *actors.System
	name      string
	room      *actor.PID
	members   map[string]*actor.PID // by PID id (they are local)
	gen       uint64                // of the last lookup started: only its answer counts
	inflight  int                   // lookups running
	gone      string                // the address of the node of the room that stopped, while it is still in the topology
	goneUntil time.Time             // how long to wait for it to leave
	armed     bool                  // a retry is on its way
	sub       *eventstream.Subscription
	lookups   *sync.WaitGroup // the lookups running, which Server.Close waits for
}

func (d *door) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		self, root := ctx.Self(), ctx.ActorSystem().Root
		d.sub = ctx.ActorSystem().EventStream.Subscribe(func(evt any) {
			if t, ok := evt.(*cluster.ClusterTopology); ok {
				root.Send(self, t)
			}
		})
		d.resolve(ctx)
	case *actor.Stopping:
		ctx.ActorSystem().EventStream.Unsubscribe(d.sub)
	case *enter:
		d.members[m.member.Id] = m.member
		if d.room != nil {
			ctx.Send(m.member, &roomAt{pid: d.room})
		}
	case *exit:
		delete(d.members, m.member.Id)
	case *whereNow:
		ctx.Respond(&roomAt{pid: d.room})
	case *cluster.ClusterTopology:
		if d.gone != "" && !isMember(m.GetMembers(), d.gone) {
			d.gone = ""
		}
		d.resolve(ctx)
	case *retry:
		d.armed = false
		if d.room == nil {
			d.resolve(ctx)
		}
	case *resolved:
		d.inflight--
		if m.gen != d.gen && (d.room != nil || m.pid == nil) {
			// An older lookup's: a newer one, started at a later
			// topology change, answers for the room (an older answer
			// only fills in for a room not found yet).
			return
		}
		if m.pid != nil && !m.pid.Equal(d.room) && m.pid.Address != d.gone {
			if d.room != nil {
				ctx.Unwatch(d.room)
			}
			d.room = m.pid
			ctx.Watch(m.pid)
			for _, member := range d.members {
				ctx.Send(member, &roomAt{pid: m.pid})
			}
		}
		if m.pid == nil {
			d.retryLater(ctx)
		}
	case *actor.Terminated:
		if !m.GetWho().Equal(d.room) {
			return
		}
		d.room = nil
		if addr := m.GetWho().Address; addr != ctx.Self().Address {
			// Its node may be going away, and not yet out of the
			// topology: wait for the change that takes it out (a
			// lookup now would ask that node to activate the room).
			wait := waitStopped
			if m.GetWhy() == actor.TerminatedReason_AddressTerminated {
				wait = waitDead
			}
			d.gone, d.goneUntil = addr, time.Now().Add(wait)
		}
		d.resolve(ctx)
	}
}

// resolve looks the room up, off the mailbox. A lookup that asks a node
// going away waits up to 5 s (cluster.Get's timeout): a later one, at
// the next topology change, does not wait for it, and the older one's
// answer is dropped.
func (d *door) resolve(ctx actor.Context) {
	if d.gone != "" && isMember(d.sys.Members(), d.gone) && time.Now().Before(d.goneUntil) {
		d.retryLater(ctx)
		return
	}
	if d.inflight >= maxLookups {
		d.retryLater(ctx)
		return
	}
	d.gone = ""
	d.gen++
	d.inflight++
	self, root, sys, name, gen := ctx.Self(), ctx.ActorSystem().Root, d.sys, d.name, d.gen
	d.lookups.Add(1)
	go func() {
		defer d.lookups.Done()
		pid, _ := sys.Get(name, KindName) // none: the door tries again
		root.Send(self, &resolved{pid: pid, gen: gen})
	}()
}

// retryLater has the door look again after retryEvery.
func (d *door) retryLater(ctx actor.Context) {
	if d.armed {
		return
	}
	d.armed = true
	self, root := ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(retryEvery, func() { root.Send(self, &retry{}) })
}

// isMember reports whether a member of ms is at addr.
func isMember(ms []*cluster.Member, addr string) bool {
	for _, m := range ms {
		if m.Address() == addr {
			return true
		}
	}
	return false
}
