package test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/tcp"
)

// TestChurn10kConnections pushes 10,000 connections through one listener:
// each is dialed, accepted, used for one round trip and closed by both
// sides, the server first. (A dialer closing first would leave its
// ephemeral port in TIME_WAIT for a minute: 10,000 of them take nearly
// every even port of the range, the ones bind(0) leaves for connect, and
// the cluster tests after this one found no two consecutive ports free.) At the end no socket actor is left, and TestMain checks that no
// fd or goroutine is.
func TestChurn10kConnections(t *testing.T) {
	const total, workers = 10_000, 16
	needsLong(t)
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		t.Run(addr, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			sys, err := actors.Start()
			if err != nil {
				t.Fatal(err)
			}
			defer sys.StopNow()
			l, err := tcp.Listen(ctx, sys, addr)
			if err != nil {
				t.Fatal(err)
			}
			target := l.Addr().String()

			var wg sync.WaitGroup
			errs := make(chan error, 2*workers)
			// Each worker pair carries total/workers connections: the
			// acceptor accepts, echoes one byte and closes; the dialer
			// dials, sends a byte, reads it back and closes.
			for w := 0; w < workers; w++ {
				wg.Add(2)
				go func() {
					defer wg.Done()
					for i := 0; i < total/workers; i++ {
						if err := acceptOne(ctx, l); err != nil {
							errs <- err
							cancel()
							return
						}
					}
				}()
				go func() {
					defer wg.Done()
					for i := 0; i < total/workers; i++ {
						if err := dialOne(ctx, sys, target); err != nil {
							errs <- err
							cancel()
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if err := l.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if n := sys.Sockets(); n != 0 {
				t.Fatalf("%d socket actors left after the churn", n)
			}
		})
	}
}

func acceptOne(ctx context.Context, l *tcp.Listener) error {
	srv, err := l.Accept(ctx)
	if err != nil {
		return err
	}
	b, err := srv.RecvExact(ctx, 1)
	if err == nil {
		_, err = srv.Send(ctx, b)
	}
	if cerr := srv.Close(ctx); err == nil {
		err = cerr
	}
	return err
}

func dialOne(ctx context.Context, sys *actors.System, target string) error {
	c, err := tcp.Dial(ctx, sys, target)
	if err != nil {
		return err
	}
	_, err = c.Send(ctx, []byte{7})
	if err == nil {
		_, err = c.RecvExact(ctx, 1)
	}
	if err == nil {
		// The server closes first (see TestChurn10kConnections).
		var b []byte
		if b, err = c.Recv(ctx, 1); err == nil {
			err = fmt.Errorf("read %q after the echo, want the server's close", b)
		} else if errors.Is(err, io.EOF) {
			err = nil
		}
	}
	if cerr := c.Close(ctx); err == nil {
		err = cerr
	}
	return err
}
