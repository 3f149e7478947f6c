package udp_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/udp"
)

// Two bound peers exchange datagrams: SendTo sends one, RecvFrom receives
// one with its sender.
func ExampleBind() {
	sys, err := actors.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sys.StopNow() // stops every socket actor, closes every fd
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	a, err := udp.Bind(ctx, sys, "127.0.0.1:0") // a bound peer; port 0: see LocalAddr
	if err != nil {
		log.Fatal(err)
	}
	b, err := udp.Bind(ctx, sys, "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}

	_, err = a.SendTo(ctx, b.LocalAddr(), []byte("ping")) // one datagram (an empty one too, as in Go's net)
	if err != nil {
		log.Fatal(err)
	}
	data, from, err := b.RecvFrom(ctx, 1500) // one datagram and its sender; a longer one is cut, with an error
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("b got %q from a: %v\n", data, from == a.LocalAddr())

	_, err = b.SendTo(ctx, from, []byte("pong")) // answer the sender
	if err != nil {
		log.Fatal(err)
	}
	data, _, err = a.RecvFrom(ctx, 1500)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("a got %q\n", data)
	// Output:
	// b got "ping" from a: true
	// a got "pong"
}

// A connected peer (Dial) sends and receives without naming the address,
// and hears only from the peer it is connected to.
func ExampleDial() {
	sys, err := actors.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sys.StopNow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv, err := udp.Bind(ctx, sys, "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}

	c, err := udp.Dial(ctx, sys, srv.LocalAddr().String()) // connected mode: Send and Recv
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Send(ctx, []byte("ping")); err != nil {
		log.Fatal(err)
	}
	data, from, err := srv.RecvFrom(ctx, 1500)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := srv.SendTo(ctx, from, append(data, " pong"...)); err != nil {
		log.Fatal(err)
	}
	data, err = c.Recv(ctx, 1500)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", data)
	// Output: ping pong
}

// A send-only peer opens its socket on the first send, of that
// destination's family; it cannot receive.
func ExampleNewPeer() {
	sys, err := actors.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sys.StopNow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dst, err := udp.Bind(ctx, sys, "[::1]:0")
	if err != nil {
		log.Fatal(err)
	}

	p, err := udp.NewPeer(sys) // send-only: no socket until the first send
	if err != nil {
		log.Fatal(err)
	}
	if _, err := p.SendTo(ctx, dst.LocalAddr(), []byte("hello")); err != nil {
		log.Fatal(err)
	}
	data, _, err := dst.RecvFrom(ctx, 1500)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", data)
	_, _, err = p.RecvFrom(ctx, 1500)
	fmt.Println("not bound:", errors.Is(err, socket.ErrUDPNotBound))
	// Output:
	// hello
	// not bound: true
}

// In push mode the handler runs in the peer's actor with each datagram,
// lent for the call, and answers through its Conn.
func ExampleServe() {
	sys, err := actors.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sys.StopNow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	echo := udp.HandlerFunc(func(c *udp.Conn, msg any) {
		if d, ok := msg.(*messages.Datagram); ok {
			c.SendTo(c.From(), d.GetData()) // lent Data may be sent as it is
		}
	})
	srv, err := udp.Serve(ctx, sys, "127.0.0.1:0", echo)
	if err != nil {
		log.Fatal(err)
	}

	c, err := udp.Bind(ctx, sys, "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.SendTo(ctx, srv.LocalAddr(), []byte("echo")); err != nil {
		log.Fatal(err)
	}
	data, from, err := c.RecvFrom(ctx, 1500)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s from the server: %v\n", data, from == srv.LocalAddr())
	// Output: echo from the server: true
}

// NewPacketConn makes a bound peer a net.PacketConn, for code written for
// net.UDPConn; here it answers a socket of Go's net.
func ExampleNewNetPacketConn() {
	sys, err := actors.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sys.StopNow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := udp.Bind(ctx, sys, "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	pc := udp.NewNetPacketConn(p) // a net.PacketConn over the peer actor
	defer pc.Close()

	goConn, err := net.ListenPacket("udp", "127.0.0.1:0") // Go's own
	if err != nil {
		log.Fatal(err)
	}
	defer goConn.Close()
	if _, err := goConn.WriteTo([]byte("ping"), pc.LocalAddr()); err != nil {
		log.Fatal(err)
	}

	buf := make([]byte, 1500)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := pc.ReadFrom(buf)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := pc.WriteTo(append(buf[:n], " pong"...), from); err != nil {
		log.Fatal(err)
	}
	goConn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err = goConn.ReadFrom(buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", buf[:n])
	// Output: ping pong
}
