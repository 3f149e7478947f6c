package chatroom

import (
	"bytes"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/tcp"
)

// MaxLine bounds a line a client sends, without its line ending.
const MaxLine = 1024

// MaxUnacked bounds the lines a member keeps until the room acknowledges
// them: past it, the member stops reading its client until acks come (it
// may then hold the lines of one more read, each at most MaxLine bytes).
const MaxUnacked = 64

// line is one of the member's lines, kept until the room acknowledges it.
type line struct {
	seq  uint64
	text string
}

// member is one connection's handler. It lives with its connection, on
// the node that owns the socket; it reaches the room through its node's
// door (which says where the room's activation is) and sends it protobuf
// messages. It keeps its lines until the room acknowledges them (every
// member has written them), and sends them again to a new activation;
// it drops a relay it has already written (the same origin and origin
// seq, after such a resend).
type member struct {
	door     *actor.PID
	room     *actor.PID
	self     *messages.Ref
	key      string
	name     string
	lines    Lines
	seq      uint64            // of the last line said
	unacked  []line            // said, not yet acknowledged
	written  map[string]uint64 // origin → the last origin seq written
	known    map[string]*Seat  // the room's members, as notices told them
	said     int               // own lines the room relayed
	paused   bool
	leaving  bool // Leave (confirm) sent; the connection closes on Left
	gone     bool // the connection is closing: nothing more to say
	why      string
	notJoins bool // the first Join is sent (later ones rejoin)
}

func (m *member) Receive(c *tcp.Conn, msg any) {
	switch msg := msg.(type) {
	case *messages.Connected:
		m.name = c.RemoteAddr().String()
		m.self = messages.NewRef(c.PID())
		m.key = key(m.self)
		m.written = map[string]uint64{}
		m.known = map[string]*Seat{}
		c.Send(m.door, &enter{member: c.PID()})
	case *roomAt:
		m.moveTo(c, msg.pid)
	case *messages.Received:
		if m.leaving || m.gone {
			break
		}
		ok := m.lines.Split(msg.GetData(), func(text []byte) {
			m.seq++
			l := line{seq: m.seq, text: m.name + ": " + string(text)}
			m.unacked = append(m.unacked, l)
			if m.room != nil {
				c.Send(m.room, &Say{Member: m.self, Seq: l.seq, Line: l.text})
			}
		})
		if !ok {
			m.why = fmt.Sprintf("* line too long (max %d bytes), bye", MaxLine)
			m.leave(c)
		} else if len(m.unacked) >= MaxUnacked && !m.paused {
			m.paused = true
			c.PauseReading()
		}
	case *messages.PeerClosed:
		m.leave(c)
	case *Relay:
		for _, st := range msg.GetSeats() {
			m.known[key(st.GetMember())] = st
		}
		if st := msg.GetJoined(); st != nil {
			m.known[key(st.GetMember())] = st
		}
		if st := msg.GetLeft(); st != nil {
			delete(m.known, key(st.GetMember()))
			delete(m.written, key(st.GetMember()))
		}
		from := c.Sender() // the activation that relayed a line
		if msg.GetOrigin() != "" {
			if msg.GetOriginSeq() <= m.written[msg.GetOrigin()] {
				// Written already: a line sent again to a new
				// activation. Still delivered, for the room's books.
				if from != nil {
					c.Send(from, &Delivered{Member: m.self, Seq: msg.GetSeq()})
				}
				break
			}
			m.written[msg.GetOrigin()] = msg.GetOriginSeq()
			if msg.GetOrigin() == m.key {
				m.said++
			}
		}
		if err := c.Write([]byte(msg.GetLine() + "\n")); err != nil {
			// The write queue is full: this client reads far slower
			// than the room talks. Cut it off.
			_ = c.Abort()
			return
		}
		if msg.GetSeq() != 0 && from != nil {
			c.Send(from, &Delivered{Member: m.self, Seq: msg.GetSeq()})
		}
	case *Acked:
		n := 0
		for n < len(m.unacked) && m.unacked[n].seq <= msg.GetSeq() {
			n++
		}
		m.unacked = m.unacked[n:]
		if m.paused && len(m.unacked) < MaxUnacked/2 && !m.leaving {
			m.paused = false
			c.ResumeReading()
		}
	case *Left:
		if m.gone {
			break
		}
		m.gone = true
		if m.why != "" {
			_ = c.Write([]byte(m.why + "\n"))
		}
		_ = c.Write([]byte(fmt.Sprintf("* bye %s, lines relayed: %d\n", m.name, m.said)))
		c.Send(m.door, &exit{member: c.PID()})
		_ = c.CloseWrite()
	case *messages.Closed, *messages.ErrorClosed:
		if !m.gone {
			m.gone = true
			c.Send(m.door, &exit{member: c.PID()})
			if m.room != nil {
				c.Send(m.room, &Leave{Member: m.self})
			}
		}
	}
}

// moveTo makes pid the member's room: it joins it (again, if it had one
// before), sends the lines not yet acknowledged, and its leave if it was
// leaving.
func (m *member) moveTo(c *tcp.Conn, pid *actor.PID) {
	if pid.Equal(m.room) || m.gone {
		return
	}
	if m.room != nil && isMember(c.System().Members(), m.room.Address) {
		// The old activation, if it still runs, forgets the member (a
		// dead node's is not sent to: remote would dial it in vain).
		c.Send(m.room, &Leave{Member: m.self})
	}
	m.room = pid
	join := &Join{Member: m.self, Name: m.name, Rejoin: m.notJoins}
	if m.notJoins {
		for _, st := range m.known {
			join.Known = append(join.Known, st)
		}
	}
	c.Send(pid, join)
	m.notJoins = true
	for _, l := range m.unacked {
		c.Send(pid, &Say{Member: m.self, Seq: l.seq, Line: l.text})
	}
	if m.leaving {
		c.Send(pid, &Leave{Member: m.self, Confirm: true})
	}
}

// leave tells the room the member leaves, and stops reading: the
// connection closes once the room answers Left.
func (m *member) leave(c *tcp.Conn) {
	if m.leaving || m.gone {
		return
	}
	m.leaving = true
	c.PauseReading()
	if m.room != nil {
		c.Send(m.room, &Leave{Member: m.self, Confirm: true})
	}
}

// Lines cuts a connection's byte stream into lines: it holds an unended
// line's first bytes (a copy: reads are lent) between reads, at most
// MaxLine+1 of them. The zero value is ready.
type Lines struct{ partial []byte }

// Split cuts data into lines, the held partial line first, and calls say
// with each (without its line ending; the slice is valid for the call);
// it keeps an unended tail. It reports false on a line over MaxLine,
// caught as soon as more than MaxLine+1 bytes come without a newline (a
// '\r' may still come before it); the held bytes are then dropped.
func (l *Lines) Split(data []byte, say func(line []byte)) bool {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if len(l.partial)+len(data) > MaxLine+1 {
				l.partial = nil
				return false
			}
			l.partial = append(l.partial, data...)
			return true
		}
		line := data[:i]
		if len(l.partial) > 0 {
			line = append(l.partial, line...)
			l.partial = l.partial[:0]
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > MaxLine {
			l.partial = nil
			return false
		}
		say(line)
		data = data[i+1:]
	}
	return true
}
