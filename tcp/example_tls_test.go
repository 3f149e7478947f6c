package tcp_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/test/testkit/certs"
)

// A push-mode server speaks TLS with WithTLS: its handler starts once the
// handshake has completed and reads and writes plaintext. DialTLS
// verifies the server against the dialed host.
func ExampleWithTLS() {
	sys, err := actors.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sys.StopNow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cert, pool, err := certs.SelfSigned() // for localhost, 127.0.0.1 and ::1
	if err != nil {
		log.Fatal(err)
	}

	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"echo/1"}}
	l, err := tcp.Serve(ctx, sys, "127.0.0.1:0", tcp.HandlerFunc(func(c *tcp.Conn, msg any) {
		switch m := msg.(type) {
		case *messages.Connected: // after the handshake: m.Tls and c.TLS() say what it settled
			fmt.Println("ALPN:", c.TLS().NegotiatedProtocol)
		case *messages.Received:
			c.Write(m.GetData()) // plaintext both ways
		}
	}), tcp.WithTLS(cfg))
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close(ctx)

	cl, err := tcp.DialTLS(ctx, sys, l.Addr().String(), &tls.Config{RootCAs: pool, NextProtos: []string{"echo/1"}}) // verifies 127.0.0.1, the dialed host
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close(ctx)
	if _, err := cl.Send(ctx, []byte("hello")); err != nil {
		log.Fatal(err)
	}
	b, err := cl.RecvExact(ctx, 5)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("echo: %s, over TLS 1.%d\n", b, cl.TLS().Version-tls.VersionTLS10)
	// Output:
	// ALPN: echo/1
	// echo: hello, over TLS 1.3
}
