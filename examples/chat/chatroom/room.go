package chatroom

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
)

// KindName is the cluster kind of a room.
const KindName = "room"

// Kind is the room's cluster kind, for actors.ClusterConfig.Kinds: every
// node that serves chat hosts it, so a room activates on whichever member
// the identity lookup picks.
func Kind() *cluster.Kind {
	return cluster.NewKind(KindName, actor.PropsFromProducer(func() actor.Actor { return newRoom() }))
}

// seat is a member as the room knows it.
type seat struct {
	pid       *actor.PID
	name      string
	delivered uint64 // the room's seq up to which this member has written
}

// pending is a line relayed but not yet written by every member.
type pending struct {
	seq       uint64 // the room's
	origin    string // the speaker's key
	originSeq uint64
}

// room is one activation of a room identity. It keeps its members'
// connection PIDs (on any node), relays each line to each of them, and
// acknowledges a line to its speaker only once every member has written
// it (Delivered): the speaker's member keeps the line until then, and
// sends it again to the next activation if this one dies first. An
// activation starts empty: members join it again (Join with rejoin).
// Members on a node that dies leave by the room's watch on their PIDs, or,
// when the room died with that node, when the survivors join the new
// activation naming them (the room tells them those left).
type room struct {
	seq     uint64
	seats   map[string]*seat // by member key
	pending []pending        // in seq order
	gone    map[string]bool  // members known from before, on a node that has left: told once
}

func newRoom() *room { return &room{seats: map[string]*seat{}, gone: map[string]bool{}} }

// key names a member: its PID, unique in the cluster.
func key(ref *messages.Ref) string { return ref.GetAddress() + "/" + ref.GetId() }

func (r *room) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *Join:
		lost := r.seatKnown(ctx, m)
		r.join(ctx, m)
		for _, st := range lost { // told once the joiner is seated too
			r.notice(ctx, &Relay{Line: "* " + st.GetName() + " left", Left: st})
		}
	case *Say:
		k := key(m.GetMember())
		if _, ok := r.seats[k]; !ok {
			return
		}
		r.seq++
		r.pending = append(r.pending, pending{seq: r.seq, origin: k, originSeq: m.GetSeq()})
		relay := &Relay{Seq: r.seq, Origin: k, OriginSeq: m.GetSeq(), Line: m.GetLine()}
		for _, s := range r.seats {
			// Sent as a request: the member answers Delivered to the
			// activation that relayed the line (its sender).
			ctx.Request(s.pid, relay)
		}
	case *Delivered:
		if s, ok := r.seats[key(m.GetMember())]; ok && m.GetSeq() > s.delivered {
			s.delivered = m.GetSeq()
			r.ack(ctx)
		}
	case *Leave:
		k := key(m.GetMember())
		if s, ok := r.seats[k]; ok {
			r.remove(ctx, k, s)
			ctx.Unwatch(s.pid)
		}
		if m.GetConfirm() {
			ctx.Send(m.GetMember().PID(), &Left{})
		}
	case *actor.Terminated:
		k := key(messages.NewRef(m.GetWho()))
		if s, ok := r.seats[k]; ok {
			r.remove(ctx, k, s)
		}
	}
}

// seatKnown seats the members a joiner knew from before the room moved,
// so that no line is acknowledged before they have it. Not those on a
// node that has left: sending to one, or watching it, would hold the
// room while remote dials it in vain; they died with it, and seatKnown
// returns them, once, for the others to be told.
func (r *room) seatKnown(ctx actor.Context, m *Join) (lost []*Seat) {
	k := key(m.GetMember())
	for _, known := range m.GetKnown() {
		kk := key(known.GetMember())
		switch {
		case kk == k:
		case r.reachable(ctx, known.GetMember().GetAddress()):
			r.seat(ctx, kk, known)
		case !r.gone[kk]:
			r.gone[kk] = true
			lost = append(lost, known)
		}
	}
	return lost
}

// join seats a joiner: the others hear it joined and it gets a welcome,
// unless it is joining again after the room moved.
func (r *room) join(ctx actor.Context, m *Join) {
	k := key(m.GetMember())
	if s, seated := r.seats[k]; seated {
		s.name = m.GetName()
		return
	}
	if !m.GetRejoin() {
		r.notice(ctx, &Relay{Line: "* " + m.GetName() + " joined", Joined: &Seat{Member: m.GetMember(), Name: m.GetName()}})
	}
	r.seat(ctx, k, &Seat{Member: m.GetMember(), Name: m.GetName()})
	if !m.GetRejoin() {
		welcome := &Relay{Line: fmt.Sprintf("* welcome %s, %d here", m.GetName(), len(r.seats))}
		for _, s := range r.seats {
			welcome.Seats = append(welcome.Seats, &Seat{Member: messages.NewRef(s.pid), Name: s.name})
		}
		ctx.Send(m.GetMember().PID(), welcome)
	}
}

// reachable reports whether addr is this node or a member of the
// cluster as this node sees it (true when it cannot tell).
func (r *room) reachable(ctx actor.Context, addr string) bool {
	sys := actors.SystemOf(ctx.ActorSystem())
	if sys == nil || addr == ctx.Self().Address {
		return true
	}
	for _, m := range sys.Members() {
		if m.Address() == addr {
			return true
		}
	}
	return false
}

// seat seats a member, if it is not yet, and watches it: a member whose
// connection or node goes away leaves.
func (r *room) seat(ctx actor.Context, k string, st *Seat) {
	if _, ok := r.seats[k]; ok {
		return
	}
	pid := st.GetMember().PID()
	r.seats[k] = &seat{pid: pid, name: st.GetName(), delivered: r.seq}
	ctx.Watch(pid)
}

// remove takes a member out, tells the others, and acknowledges what
// only it had left to write.
func (r *room) remove(ctx actor.Context, k string, s *seat) {
	delete(r.seats, k)
	r.notice(ctx, &Relay{Line: "* " + s.name + " left", Left: &Seat{Member: messages.NewRef(s.pid), Name: s.name}})
	r.ack(ctx)
}

// ack acknowledges to their speakers the lines every member has written.
func (r *room) ack(ctx actor.Context) {
	stable := r.seq
	for _, s := range r.seats {
		stable = min(stable, s.delivered)
	}
	last := map[string]uint64{}
	n := 0
	for _, p := range r.pending {
		if p.seq > stable {
			break
		}
		last[p.origin] = p.originSeq
		n++
	}
	if n == 0 {
		return
	}
	r.pending = r.pending[n:]
	for origin, seq := range last {
		if s, ok := r.seats[origin]; ok {
			ctx.Send(s.pid, &Acked{Seq: seq})
		}
	}
}

// notice relays a line that is no member's (joins, leaves).
func (r *room) notice(ctx actor.Context, msg *Relay) {
	for _, s := range r.seats {
		ctx.Send(s.pid, msg)
	}
}
