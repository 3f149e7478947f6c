//go:build linux || darwin || freebsd

package socket_test

import (
	"fmt"
	"log"
	"net/netip"

	"github.com/actornet/actornet/socket"
)

// Open gives a non-blocking socket of a domain and type. Here a UDP
// socket, made blocking so that RecvFrom waits, sends a datagram to
// itself and receives it into a buffer too small for it: the real length
// is returned, never a silent cut.
func ExampleOpen() {
	s, err := socket.Open(socket.IPv4, socket.Datagram)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Bind(netip.MustParseAddrPort("127.0.0.1:0")); err != nil {
		log.Fatal(err)
	}
	if err := s.Blocking(true); err != nil {
		log.Fatal(err)
	}
	self, err := s.LocalAddr() // port 0: the kernel picked one
	if err != nil {
		log.Fatal(err)
	}

	if _, err := s.SendTo([]byte("hello, world"), self); err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 5)
	n, from, err := s.RecvFrom(buf) // n > len(buf): truncated
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q of %d bytes, from self: %v\n", buf, n, from == self)
	// Output: "hello" of 12 bytes, from self: true
}

// Pair gives two connected Unix sockets, non-blocking; Shutdown(Write)
// half-closes one direction: the peer reads end of stream (0, nil) and
// can still write back.
func ExamplePair() {
	a, b, err := socket.Pair(socket.Stream)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	defer b.Close()

	if _, err := a.Write([]byte("ping")); err != nil {
		log.Fatal(err)
	}
	if err := a.Shutdown(socket.Write); err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := b.Read(buf)
	fmt.Printf("%q %v\n", buf[:n], err)
	n, err = b.Read(buf)
	fmt.Println(n, err) // end of stream

	if _, err := b.Write([]byte("pong")); err != nil {
		log.Fatal(err)
	}
	n, err = a.Read(buf)
	fmt.Printf("%q %v\n", buf[:n], err)
	// Output:
	// "ping" <nil>
	// 0 <nil>
	// "pong" <nil>
}
