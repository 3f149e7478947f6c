package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
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
func runClients(ctx context.Context, sys *actors.System, target string, cfg config) (summary, error) {
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
			trips, err := client(ctx, sys, target, cfg.size)
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

func client(ctx context.Context, sys *actors.System, target string, size int) (int64, error) {
	c, err := tcp.Dial(ctx, sys, target)
	if err != nil {
		return 0, err
	}
	defer c.Close(context.Background())
	msg := bytes.Repeat([]byte{'e'}, size)
	var trips int64
	for ctx.Err() == nil {
		if _, err := c.Send(ctx, msg, 0); err != nil {
			return trips, ignoreEnd(ctx, err)
		}
		got, err := c.RecvExact(ctx, size, 0)
		if err != nil {
			return trips, ignoreEnd(ctx, err)
		}
		if !bytes.Equal(got, msg) {
			return trips, fmt.Errorf("echo mismatch after %d round trips", trips)
		}
		trips++
	}
	return trips, nil
}

// ignoreEnd drops the error of the round trip the run's end cut short.
func ignoreEnd(ctx context.Context, err error) error {
	if ctx.Err() != nil {
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
