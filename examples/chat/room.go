package main

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/messages"
)

// join, say and leave are what members tell the room. They stay inside
// this process, so they are plain Go values.
type (
	join struct {
		conn *actor.PID
		name string
	}
	say struct {
		from *actor.PID
		line string
	}
	leave struct{ conn *actor.PID }
)

// room knows every member's connection and relays each line to the others.
type room struct {
	members map[string]*actor.PID // by connection PID id
	names   map[string]string
}

func newRoom() *room {
	return &room{members: map[string]*actor.PID{}, names: map[string]string{}}
}

func (r *room) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *join:
		r.broadcast(ctx, nil, "* "+m.name+" joined")
		r.members[m.conn.Id] = m.conn
		r.names[m.conn.Id] = m.name
		ctx.Send(m.conn, &messages.Write{Data: []byte(fmt.Sprintf("* welcome %s, %d here", m.name, len(r.members)))})
	case *say:
		r.broadcast(ctx, m.from, m.line)
	case *leave:
		if name, ok := r.names[m.conn.Id]; ok {
			delete(r.members, m.conn.Id)
			delete(r.names, m.conn.Id)
			r.broadcast(ctx, nil, "* "+name+" left")
		}
	}
}

// broadcast writes line to every member but from (the connection frames
// it with a newline).
func (r *room) broadcast(ctx actor.Context, from *actor.PID, line string) {
	for id, conn := range r.members {
		if from != nil && id == from.Id {
			continue
		}
		ctx.Send(conn, &messages.Write{Data: []byte(line)})
	}
}
