package actors_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/socket"
)

// A system is an actor system and its pollers; stopping it stops every
// socket actor on it, and each closes its fd.
func ExampleStart() {
	sys, err := actors.Start() // actor system + one poller per CPU
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pollers running:", len(sys.Pollers()) > 0)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = sys.Stop(ctx) // stops every socket actor, closes every fd
	fmt.Println("stopped:", err, sys.Stopped())
	// Output:
	// pollers running: true
	// stopped: <nil> true
}

// A Future is a one-shot result: whoever answers completes it once, and
// plain Go code waits for it within a context. Inside an actor, never
// Wait: use PipeTo or ReenterAfter.
func ExampleFuture() {
	f := actors.NewFuture[string]()
	go f.Complete("pong", nil) // an actor's answer, from another goroutine

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	v, err := f.Wait(ctx)
	fmt.Println(v, err)
	fmt.Println("completed twice:", f.Complete("again", nil)) // one shot
	// Output:
	// pong <nil>
	// completed twice: false
}

// A socket actor owns its fd; Poll asks it for readiness. The context's
// deadline is the poll's timeout, and a timeout is one error that matches
// both os.ErrDeadlineExceeded and context.DeadlineExceeded.
func ExampleSocket_Poll() {
	sys, err := actors.Start() // actor system + one poller per CPU
	if err != nil {
		log.Fatal(err)
	}
	defer sys.StopNow() // stops every socket actor, closes every fd

	a, peer, err := socket.Pair(socket.Stream)
	if err != nil {
		log.Fatal(err)
	}
	defer peer.Close()
	s, err := actors.SpawnSocket(sys, a) // the actor now owns a's fd
	if err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	st, err := s.Poll(ctx, actors.PollRead) // nothing to read yet: a timeout, at the context's deadline
	// st: PollEvent | PollTimeout | PollError | PollClosed (peer hung up, nothing left) | PollCancelled (socket closed)
	// err: nil for an event, else errors.Is-able: os.ErrDeadlineExceeded (and context.DeadlineExceeded), io.EOF, net.ErrClosed, an errno
	fmt.Println(st, errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded))

	f := s.PollAsync(actors.PollRead, time.Second) // a Future; 0 = no timeout
	if _, err := peer.Write([]byte("ping")); err != nil {
		log.Fatal(err)
	}
	res, err := f.Wait(context.Background()) // plain Go; inside an actor use f.PipeTo or actors.ReenterAfter
	fmt.Println(res.GetStatus(), err)
	// Output:
	// POLL_STATUS_TIMEOUT true true
	// POLL_STATUS_EVENT <nil>
}

// Shutdown(ShutdownWrite) half-closes: the peer reads end of stream, and
// the socket can still read what the peer sends.
func ExampleSocket_Shutdown() {
	sys, err := actors.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer sys.StopNow()

	a, peer, err := socket.Pair(socket.Stream)
	if err != nil {
		log.Fatal(err)
	}
	defer peer.Close()
	s, err := actors.SpawnSocket(sys, a)
	if err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.Shutdown(ctx, actors.ShutdownWrite); err != nil {
		log.Fatal(err)
	}
	n, err := peer.Read(make([]byte, 16))
	fmt.Println("peer read:", n, err) // 0, nil: end of stream

	if _, err := peer.Write([]byte("still open")); err != nil {
		log.Fatal(err)
	}
	st, err := s.Poll(ctx, actors.PollRead)
	fmt.Println("poll:", st, err)
	fmt.Println("close:", s.Close(ctx))
	// Output:
	// peer read: 0 <nil>
	// poll: POLL_STATUS_EVENT <nil>
	// close: <nil>
}
