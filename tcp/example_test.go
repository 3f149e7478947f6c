package tcp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/tcp"
)

// A client actor connects, sends and receives; each blocking call waits
// within its context, whose deadline is the request's deadline.
func ExampleDial() {
	sys, err := actors.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sys.StopNow() // stops every socket actor, closes every fd
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	echo := tcp.HandlerFunc(func(c *tcp.Conn, msg any) {
		if m, ok := msg.(*messages.Received); ok {
			c.Write(m.GetData())
		}
	})
	srv, err := tcp.Serve(ctx, sys, "127.0.0.1:0", echo) // an echo server to talk to
	if err != nil {
		log.Fatal(err)
	}

	c, err := tcp.Dial(ctx, sys, srv.Addr().String()) // a client actor; names are resolved
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(ctx)
	n, err := c.Send(ctx, []byte("ping")) // all of it, or an error with the count sent
	if err != nil {
		log.Fatal(err)
	}
	b, err := c.RecvExact(ctx, 4) // 4 bytes, or an error with the prefix read
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("sent %d, received %q\n", n, b)
	// Output: sent 4, received "ping"
}

// In pull mode the caller accepts: each Accept answers a Client for the
// next connection.
func ExampleListener_Accept() {
	sys, err := actors.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sys.StopNow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	l, err := tcp.Listen(ctx, sys, "127.0.0.1:0") // pull mode
	if err != nil {
		log.Fatal(err)
	}
	c, err := tcp.Dial(ctx, sys, l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	s, err := l.Accept(ctx) // a Client for the accepted connection
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("peer is the dialer:", s.RemoteAddr() == c.LocalAddr())

	if _, err := c.Send(ctx, []byte("hello")); err != nil {
		log.Fatal(err)
	}
	b, err := s.Recv(ctx, 1024) // what has arrived, up to 1024 bytes
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", b)
	// Output:
	// peer is the dialer: true
	// hello
}

// In push mode the listener accepts by itself and runs the handler as the
// behaviour of one actor per connection, on the poller's goroutine.
func ExampleServe() {
	sys, err := actors.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sys.StopNow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// push mode: one actor per connection, running the handler as its behaviour
	l, err := tcp.Serve(ctx, sys, "127.0.0.1:0", tcp.HandlerFunc(func(c *tcp.Conn, msg any) {
		switch m := msg.(type) {
		case *messages.Connected:
			c.Write([]byte("hello\n"))
		case *messages.Received:
			c.Write(m.GetData()) // m.Data is lent for the call; reading resumes when we return
		}
	}))
	if err != nil {
		log.Fatal(err)
	}

	c, err := tcp.Dial(ctx, sys, l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Send(ctx, []byte("echo\n")); err != nil {
		log.Fatal(err)
	}
	b, err := c.RecvExact(ctx, len("hello\necho\n"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(b))
	// Output:
	// hello
	// echo
}

// With framing each Received is one line (or frame) and each Write is
// framed.
func ExampleWithFraming() {
	sys, err := actors.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sys.StopNow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	lines, err := tcp.Lines(4096) // or tcp.LengthPrefixed(4, 1<<20); an error for a bad limit
	if err != nil {
		log.Fatal(err)
	}
	count := tcp.HandlerFunc(func(c *tcp.Conn, msg any) {
		if m, ok := msg.(*messages.Received); ok {
			c.Write(fmt.Appendf(nil, "%d bytes", len(m.GetData()))) // a line in, a line out
		}
	})
	l, err := tcp.Serve(ctx, sys, "127.0.0.1:0", count, tcp.WithFraming(lines))
	if err != nil {
		log.Fatal(err)
	}

	c, err := tcp.Dial(ctx, sys, l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Send(ctx, []byte("one\nthree\n")); err != nil {
		log.Fatal(err)
	}
	b, err := c.RecvExact(ctx, len("3 bytes\n5 bytes\n"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(b))
	// Output:
	// 3 bytes
	// 5 bytes
}

// A service is a supervised push-mode server: a crashed listener is
// replaced on the same address, and Stop drains until its context's
// deadline, then aborts what is still open.
func ExampleStartService() {
	sys, err := actors.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sys.StopNow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	echo := tcp.HandlerFunc(func(c *tcp.Conn, msg any) {
		if m, ok := msg.(*messages.Received); ok {
			c.Write(m.GetData())
		}
	})
	svc, err := tcp.StartService(ctx, sys, "127.0.0.1:0", echo, tcp.WithMaxConnections(100))
	if err != nil {
		log.Fatal(err)
	}
	c, err := tcp.Dial(ctx, sys, svc.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Send(ctx, []byte("ping")); err != nil {
		log.Fatal(err)
	}
	b, err := c.RecvExact(ctx, 4)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", b)

	drain, done := context.WithTimeout(ctx, time.Second)
	defer done()
	err = svc.Stop(drain) // no new connections; open ones flush and close
	fmt.Println("stopped:", err)
	_, err = c.Recv(ctx, 1) // the service closed our connection
	fmt.Println("client:", errors.Is(err, io.EOF))
	// Output:
	// ping
	// stopped: <nil>
	// client: true
}

// NewNetListener makes a listener actor a net.Listener, so net/http serves
// on actors; here Go's own HTTP client fetches a page from it.
func ExampleNewNetListener() {
	sys, err := actors.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sys.StopNow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	l, err := tcp.Listen(ctx, sys, "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	web := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello from a listener actor")
	})}
	go web.Serve(tcp.NewNetListener(l)) // net/http on a listener actor
	defer web.Close()

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + l.Addr().String() + "/")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(resp.Status, ": ", string(body))
	// Output: 200 OK: hello from a listener actor
}

// NewConn makes a client actor a net.Conn: here Go's HTTP client dials
// through actornet (crypto/tls works the same way: tls.Client(conn, cfg)).
func ExampleNewNetConn() {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello from Go's net")
	}))
	defer web.Close()
	sys, err := actors.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sys.StopNow()

	dial := func(ctx context.Context, _, addr string) (net.Conn, error) {
		c, err := tcp.Dial(ctx, sys, addr)
		if err != nil {
			return nil, err
		}
		return tcp.NewNetConn(ctx, c) // a net.Conn over the client actor
	}
	client := &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
	resp, err := client.Get(web.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(resp.Status, ": ", string(body))
	// Output: 200 OK: hello from Go's net
}

// ListenAt, DialAt and NewClientAt put the socket on another node (a
// system started WithRemote, whose Address the caller was told) and return
// the same handles as for local sockets. Node A serves only what its
// policy lists, for example:
//
//	policy, err := actors.NewAllowlist(actors.Rule{Name: "b", Callers: []string{"*"},
//		Spawn: []string{tcp.KindListener, tcp.KindClient}, Listen: []string{"127.0.0.1:0"}, Connect: []string{"127.0.0.1:*"}})
//	sys, err := actors.Start(actors.WithRemote("127.0.0.1:8090"), actors.WithRemotePolicy(policy))
//
// This example is compiled, not run: it needs node A running.
func ExampleListenAt() {
	sys, err := actors.Start(actors.WithRemote("")) // this node: Proto.Actor remote on 127.0.0.1, a free port
	if err != nil {
		log.Fatal(err)
	}
	defer sys.StopNow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nodeA := "127.0.0.1:8090" // what node A's sys.Address() said

	l, err := tcp.ListenAt(ctx, sys, nodeA, "127.0.0.1:0") // the listening socket lives on node A
	if err != nil {
		log.Fatal(err)
	}
	c, err := tcp.DialAt(ctx, sys, nodeA, l.Addr().String()) // so does this client
	if err != nil {
		log.Fatal(err)
	}
	s, err := l.Accept(ctx) // accepted on node A too
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Send(ctx, []byte("ping")); err != nil {
		log.Fatal(err)
	}
	got, err := s.RecvExact(ctx, 4) // every request and answer crosses as protobuf
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", got)
}
