package main

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
)

// join, say and leave are what members tell the room; relay (a line to
// write) and left (the answer to a leave) are what the room tells a
// member's connection, whose handler gets them. They stay inside this
// process, so they are plain Go values.
type (
	join struct {
		conn *actor.PID
		name string
	}
	say struct {
		from *actor.PID
		line string // "name: text", as relayed
	}
	leave struct {
		conn    *actor.PID
		confirm bool // answer with left: the connection waits for it
	}
	relay struct{ line []byte } // with its '\n'; shared by every member it goes to: read only
	left  struct{ said int }    // the lines of the member the room relayed
)

// seat is a member as the room knows it.
type seat struct {
	conn *actor.PID
	name string
	said int
}

// room knows every member's connection and relays each line to every
// member, its sender included. It handles one message at a time, in the
// order each member sent them: when it handles a member's leave it has
// relayed every line that member said before, and its answer (left) goes
// to the connection after those relays.
type room struct {
	seats map[string]*seat // by connection PID id
}

func newRoom() *room { return &room{seats: map[string]*seat{}} }

func (r *room) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *join:
		r.broadcast(ctx, "* "+m.name+" joined")
		r.seats[m.conn.Id] = &seat{conn: m.conn, name: m.name}
		ctx.Send(m.conn, &relay{line: []byte(fmt.Sprintf("* welcome %s, %d here\n", m.name, len(r.seats)))})
	case *say:
		if s, ok := r.seats[m.from.Id]; ok {
			s.said++
			r.broadcast(ctx, m.line)
		}
	case *leave:
		said := 0
		if s, ok := r.seats[m.conn.Id]; ok {
			said = s.said
			delete(r.seats, m.conn.Id)
			r.broadcast(ctx, "* "+s.name+" left")
		}
		if m.confirm {
			ctx.Send(m.conn, &left{said: said})
		}
	}
}

// broadcast relays line to every member. The members share one relay.
func (r *room) broadcast(ctx actor.Context, line string) {
	msg := &relay{line: []byte(line + "\n")}
	for _, s := range r.seats {
		ctx.Send(s.conn, msg)
	}
}
