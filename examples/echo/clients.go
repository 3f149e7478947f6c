package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/tcp"
)

type summary struct {
	conns      int
	roundTrips int64
	bytes      int64
	errors     int
	elapsed    time.Duration
	firstErr   error
}

// dialTimeout bounds a client's connect and TLS handshake, which come
// before the measured window: on a loaded machine a handshake can take
// longer than a short -duration.
const dialTimeout = 10 * time.Second

// runClients connects cfg.conns clients to target, then runs them for
// cfg.duration, each sending cfg.size bytes and reading them back in a
// loop (at most cfg.rounds times, if that is not 0).
func runClients(ctx context.Context, sys *actors.System, target string, cfg config, tlsCfg *tls.Config) (summary, error) {
	msg := bytes.Repeat([]byte{'e'}, cfg.size) // read only: every client sends it
	var mu sync.Mutex
	var sum summary
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		sum.errors++
		if sum.firstErr == nil {
			sum.firstErr = err
		}
	}
	clients := make([]*tcp.Client, cfg.conns)
	var wg sync.WaitGroup
	dialCtx, cancelDial := context.WithTimeout(ctx, dialTimeout)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dial(dialCtx, sys, target, tlsCfg)
			if err != nil {
				fail(err)
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	cancelDial()

	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	start := time.Now()
	for _, c := range clients {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close(context.Background())
			trips, err := pingPong(ctx, c, msg, cfg.rounds)
			if err != nil {
				fail(err)
			}
			mu.Lock()
			defer mu.Unlock()
			sum.roundTrips += trips
			sum.bytes += 2 * trips * int64(cfg.size)
			if err == nil {
				sum.conns++
			}
		}()
	}
	wg.Wait()
	sum.elapsed = time.Since(start)
	return sum, nil
}

func dial(ctx context.Context, sys *actors.System, target string, tlsCfg *tls.Config) (*tcp.Client, error) {
	if tlsCfg != nil {
		return tcp.DialTLS(ctx, sys, target, tlsCfg)
	}
	return tcp.Dial(ctx, sys, target)
}

// pingPong sends msg and reads its echo, over and over until ctx ends or
// (if rounds is not 0) it has made rounds round trips. It
// reads while it sends: a message larger than the socket buffers and the
// server's write queue would otherwise fill them both ways and stall.
func pingPong(ctx context.Context, c *tcp.Client, msg []byte, rounds int64) (int64, error) {
	var trips int64
	for ctx.Err() == nil && (rounds == 0 || trips < rounds) {
		sent := c.SendAsync(msg, actors.Remaining(ctx))
		if err := recvEcho(ctx, c, msg); err != nil {
			return trips, ignoreEnd(ctx, fmt.Errorf("round trip %d: %w", trips+1, err))
		}
		res, err := sent.Wait(ctx)
		if err == nil {
			err = res.GetStatus().Err()
		}
		if err != nil {
			return trips, ignoreEnd(ctx, fmt.Errorf("round trip %d: send: %w", trips+1, err))
		}
		trips++
	}
	return trips, nil
}

// recvPiece bounds what a client holds of an echo: it reads a larger one
// in pieces (tcp.MaxRecv bounds one RecvExact).
const recvPiece = 1 << 20

// recvEcho reads len(msg) bytes, in pieces of at most recvPiece, and
// checks that they are msg.
func recvEcho(ctx context.Context, c *tcp.Client, msg []byte) error {
	for off := 0; off < len(msg); {
		n := min(len(msg)-off, recvPiece)
		got, err := c.RecvExact(ctx, n)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, msg[off:off+n]) {
			return fmt.Errorf("the echo differs from what was sent in bytes %d..%d", off, off+n)
		}
		off += n
	}
	return nil
}

// ignoreEnd drops the error of the round trip the run's end cut short:
// ctx's, or the socket actor's timeout at ctx's deadline, which may come
// before ctx itself says it has ended.
func ignoreEnd(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) && errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	return err
}

func (s summary) print(out io.Writer, cfg config) {
	secs := s.elapsed.Seconds()
	fmt.Fprintf(out, "connections %d (errors %d), %d B messages, %v\n", s.conns, s.errors, cfg.size, s.elapsed.Round(time.Millisecond))
	fmt.Fprintf(out, "round trips %d (%.0f/s), bytes %d (%.1f MB/s)\n", s.roundTrips, float64(s.roundTrips)/secs, s.bytes, float64(s.bytes)/secs/1e6)
	if s.firstErr != nil {
		fmt.Fprintf(out, "first error: %v\n", s.firstErr)
	}
}
