// Command chat is a line-based chat server on actornet: every line a
// client sends reaches every client in the room, its sender included.
//
//	go run ./examples/chat                          # three nodes, a client on each; the room's node killed; a summary
//	go run ./examples/chat -single                  # one process: a server and 3 clients chatting, then a summary
//	go run ./examples/chat -listen 127.0.0.1:7000   # only the server, until interrupted; try two `nc 127.0.0.1 7000`
//
// Cluster mode: a node of a Proto.Actor cluster whose room is a cluster
// identity (package chatroom), so a line sent to any node reaches the
// clients of every node:
//
//	go run ./examples/chat -listen 127.0.0.1:7000 -node 127.0.0.1:7100 -seeds 127.0.0.1:7100,127.0.0.1:7200,127.0.0.1:7300
//	go run ./examples/chat -listen 127.0.0.1:7001 -node 127.0.0.1:7200 -seeds 127.0.0.1:7100,127.0.0.1:7200,127.0.0.1:7300
//	go run ./examples/chat -listen 127.0.0.1:7002 -node 127.0.0.1:7300 -seeds 127.0.0.1:7100,127.0.0.1:7200,127.0.0.1:7300
//
// -node is the node's Proto.Actor remote address, an IP address and
// port; the membership provider listens on the next port (7101 here),
// and -seeds lists every node's -node address (the provider polls
// exactly these: give every node the same list). Without certificates a
// node runs on loopback only (a node on another address refuses to
// start: anyone who reaches it could drive its sockets). With -ca FILE
// -cert FILE -key FILE (PEM; the certificate names the node's IP
// address, and serves and dials), the node's traffic and the membership
// polls run over mutual TLS: a node whose certificate the CA did not
// sign is refused, and never a member. The files are read again when
// they change (actors.MutualTLSFiles): certificates rotate without a
// restart. A node prints
// "NODE addr LISTEN addr", then "MEMBERS n" at each membership change and
// "ROOM addr" when the room is found on a node: that is how to tell which
// node hosts the room. Run a built binary when you kill nodes by hand
// (go build -o /tmp/chat ./examples/chat): kill -9 on `go run` leaves the
// node it started running.
// The default run does this with three child processes of its own, a
// client on each, kills the node that hosts the room, and shows the room
// active again on a surviving node with the surviving clients still
// chatting; it times the fan-out of -measure lines first. What a client
// is owed there, and what a node's death may cost, is in package
// chatroom's documentation.
//
// The rest of this comment is the single-process server (-single,
// -listen without -node).
//
// It is message-driven all the way, with one actor per connection: each
// connection's handler (a member) runs as its connection actor's
// behaviour and tells a room actor who joined, what they said and when
// they left; the room sends every line to every member's connection PID,
// and the member's handler writes it. A line is its text without its
// line ending ("\n" or "\r\n"), of at most MaxLine bytes; the member cuts
// the stream into lines itself, keeping at most MaxLine bytes of a line
// not ended yet. A longer line ends that member's stay, at whatever
// length it is caught: the client gets "* line too long (max 1024
// bytes), bye", then the farewell, then the end of the stream. An
// unterminated tail at the end of the stream is not a line.
//
// Idle members: as every push-mode connection, a member's connection
// closes once no bytes have moved on it, either way, for
// tcp.DefaultIdleTimeout (5 minutes; tcp.WithIdleTimeout would change
// it), and the member leaves the room. A member of a room where others
// talk is not idle: what the room relays to it counts.
//
// What a client is owed: the welcome when it joins; every line the room
// handles between its join and its leave, its own lines included (the
// copy of its own line is the room's receipt for it); and when it leaves,
// a farewell that counts its lines the room relayed ("* bye NAME, lines
// relayed: N"), then the end of the stream. A client that sends its lines
// and half-closes at once (`printf 'a\nb\n' | nc -N 127.0.0.1 7000`, or
// sendall then shutdown(SHUT_WR)) gets all of it: on PeerClosed the
// member tells the room it leaves; the room, handling each member's
// messages in the order they were sent, has relayed every line of the
// member by then, and answers with left after those relays; the member
// writes the farewell and closes on left, and Close flushes everything
// queued before the FIN. The listener runs WithKeepOpen(true), so that
// the connection stays open between PeerClosed and left (without it, it
// would close once the handler returned from PeerClosed, cutting off the
// relays still on their way). A member sent off for a long line
// half-closes instead (CloseWrite), reading and dropping what the client
// still sends until its FIN: closing with unread bytes would reset the
// connection, and the client could lose the notice. A member whose write
// queue overflows (a client that reads far slower than the room talks)
// is cut off (Abort).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/examples/chat/chatroom"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/tcp"
)

// MaxLine bounds a line a client sends, without its line ending: the
// same in the single-process chat as in the cluster's.
const MaxLine = chatroom.MaxLine

type config struct {
	listen  string
	clients int
	lines   int
	node    string // cluster mode: this node's address
	seeds   string // cluster mode: the nodes' addresses, comma-separated
	ca      string // cluster mode: PEM file of the CA the nodes trust
	cert    string // cluster mode: PEM file of this node's certificate
	key     string // cluster mode: PEM file of its key
	single  bool   // the single-process demo
	measure int    // fan-out samples in the default run
}

func main() {
	var cfg config
	flag.StringVar(&cfg.listen, "listen", "", "serve on `ADDR` until interrupted (only the server; a cluster node with -node)")
	flag.StringVar(&cfg.node, "node", "", "cluster mode: this node's address `IP:PORT` (Proto.Actor remote; the membership provider's endpoint is on PORT+1); loopback only without -ca, -cert and -key")
	flag.StringVar(&cfg.seeds, "seeds", "", "cluster mode: every node's -node address, `IP:PORT[,IP:PORT...]`")
	flag.StringVar(&cfg.ca, "ca", "", "cluster mode: PEM `FILE` of the CA whose certificates the nodes trust (mutual TLS, with -cert and -key)")
	flag.StringVar(&cfg.cert, "cert", "", "cluster mode: PEM `FILE` of this node's certificate, naming its IP address (mutual TLS)")
	flag.StringVar(&cfg.key, "key", "", "cluster mode: PEM `FILE` of this node's private key (mutual TLS)")
	flag.BoolVar(&cfg.single, "single", false, "run the single-process demo (a server and -clients clients) instead of the three-node one")
	flag.IntVar(&cfg.clients, "clients", 3, "clients in the single-process demo")
	flag.IntVar(&cfg.lines, "lines", 5, "lines each client sends in a demo")
	flag.IntVar(&cfg.measure, "measure", 100, "lines the three-node demo times for fan-out latency (0: none)")
	flag.Usage = func() { // named after the example, not the go run binary
		fmt.Fprintf(flag.CommandLine.Output(), `Usage of chat:
  chat                                   three cluster nodes as child processes, a client on each; the room's node killed
  chat -single                           one process: a server and -clients clients chatting
  chat -listen ADDR                      only the server, until interrupted (nc ADDR to chat)
  chat -listen ADDR -node IP:PORT -seeds IP:PORT,...   one cluster node; it prints NODE, MEMBERS and ROOM lines
                                         (ROOM: the node that hosts the room now); loopback only
  chat ... -ca FILE -cert FILE -key FILE the same over mutual TLS (node traffic and membership): any IP address;
                                         only nodes whose certificates the CA signed are members
`)
		flag.PrintDefaults()
	}
	flag.Parse()
	var err error
	switch {
	case cfg.node != "":
		err = runNode(cfg, os.Stdout)
	case cfg.seeds != "":
		err = fmt.Errorf("-seeds needs -node")
	case cfg.ca != "" || cfg.cert != "" || cfg.key != "":
		err = fmt.Errorf("-ca, -cert and -key need -node")
	case cfg.listen != "" || cfg.single:
		err = run(cfg, os.Stdout)
	default:
		err = runDemo(cfg, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

func run(cfg config, out io.Writer) error {
	if cfg.clients < 2 || cfg.lines < 1 {
		return fmt.Errorf("-clients must be at least 2 and -lines at least 1")
	}
	sys, err := actors.Start()
	if err != nil {
		return err
	}
	defer sys.StopNow()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	addr := cfg.listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := serve(ctx, sys, addr)
	if err != nil {
		return err
	}
	defer l.Close(context.Background())
	fmt.Fprintf(out, "chat server on %s\n", l.Addr())
	if cfg.listen != "" {
		<-ctx.Done()
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	sum, err := chatters(ctx, sys, l.Addr().String(), cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "clients %d, lines sent %d, lines delivered %d (each line to all %d members, its sender included), farewells %d\n",
		cfg.clients, sum.sent, sum.delivered, cfg.clients, sum.farewells)
	return nil
}

// serve starts the room and the push-mode listener whose connections
// are its members.
func serve(ctx context.Context, sys *actors.System, addr string) (*tcp.Listener, error) {
	room := sys.Root().Spawn(actor.PropsFromProducer(func() actor.Actor { return newRoom() }))
	members := tcp.PerConnection(func() tcp.Handler { return &member{room: room} })
	l, err := tcp.Serve(ctx, sys, addr, members, tcp.WithKeepOpen(true))
	if err != nil {
		sys.Root().Stop(room)
		return nil, err
	}
	return l, nil
}

// member is one connection's handler, with the connection's state: its
// name, the start of a line not ended yet, and whether it has told the
// room it leaves.
type member struct {
	room    *actor.PID
	name    string
	lines   chatroom.Lines
	leaving bool   // the room was told; the connection closes on its left
	why     string // written before the farewell, if set
}

func (m *member) Receive(c *tcp.Conn, msg any) {
	switch msg := msg.(type) {
	case *messages.Connected:
		m.name = c.RemoteAddr().String()
		c.Send(m.room, &join{conn: c.PID(), name: m.name})
	case *messages.Received:
		if m.leaving { // the room has its leave: nothing more to say
			break
		}
		tell := func(line []byte) {
			// The data is lent for the call: the string is a copy.
			c.Send(m.room, &say{from: c.PID(), line: m.name + ": " + string(line)})
		}
		if !m.lines.Split(msg.GetData(), tell) {
			m.why = fmt.Sprintf("* line too long (max %d bytes), bye", MaxLine)
			m.leave(c)
		}
	case *messages.PeerClosed:
		m.leave(c)
	case *relay:
		if err := c.Write(msg.line); err != nil {
			// The write queue is full: this client reads far slower
			// than the room talks. Cut it off.
			_ = c.Abort()
		}
	case *left:
		if m.why != "" {
			_ = c.Write([]byte(m.why + "\n"))
		}
		_ = c.Write([]byte(fmt.Sprintf("* bye %s, lines relayed: %d\n", m.name, msg.said)))
		// After PeerClosed, CloseWrite is Close. A member sent off
		// still has the client's bytes coming: FIN, then read (and
		// drop) them until the client closes, rather than reset the
		// connection under the notice.
		_ = c.CloseWrite()
	case *messages.Closed, *messages.ErrorClosed:
		if !m.leaving {
			m.leaving = true
			c.Send(m.room, &leave{conn: c.PID()})
		}
	}
}

// leave tells the room the member leaves, and stops reading: the
// connection closes once the room answers.
func (m *member) leave(c *tcp.Conn) {
	if m.leaving {
		return
	}
	m.leaving = true
	c.PauseReading()
	c.Send(m.room, &leave{conn: c.PID(), confirm: true})
}
