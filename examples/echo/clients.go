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

// runClients runs cfg.conns clients against target for cfg.duration, each
// sending cfg.size bytes and reading them back in a loop.
func runClients(ctx context.Context, sys *actors.System, target string, cfg config, tlsCfg *tls.Config) (summary, error) {
	msg := bytes.Repeat([]byte{'e'}, cfg.size) // read only: every client sends it
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	var mu sync.Mutex
	var sum summary
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < cfg.conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			trips, err := client(ctx, sys, target, msg, tlsCfg)
			mu.Lock()
			defer mu.Unlock()
			sum.roundTrips += trips
			sum.bytes += 2 * trips * int64(cfg.size)
			if err != nil {
				sum.errors++
				if sum.firstErr == nil {
					sum.firstErr = err
				}
			} else {
				sum.conns++
			}
		}()
	}
	wg.Wait()
	sum.elapsed = time.Since(start)
	return sum, nil
}

// client sends msg and reads its echo, over and over until ctx ends. It
// reads while it sends: a message larger than the socket buffers and the
// server's write queue would otherwise fill them both ways and stall.
func client(ctx context.Context, sys *actors.System, target string, msg []byte, tlsCfg *tls.Config) (int64, error) {
	var c *tcp.Client
	var err error
	if tlsCfg != nil {
		c, err = tcp.DialTLS(ctx, sys, target, tlsCfg)
	} else {
		c, err = tcp.Dial(ctx, sys, target)
	}
	if err != nil {
		return 0, err
	}
	defer c.Close(context.Background())
	var trips int64
	for ctx.Err() == nil {
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
