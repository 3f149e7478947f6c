package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/udp"
)

type summary struct {
	peers    int
	echoed   int64
	lost     int64
	errors   int
	elapsed  time.Duration
	firstErr error
}

func runClients(ctx context.Context, sys *actors.System, target string, cfg config) (summary, error) {
	to, err := netip.ParseAddrPort(target)
	if err != nil {
		return summary{}, fmt.Errorf("-connect %q: want ip:port", target)
	}
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
			echoed, lost, err := client(ctx, sys, to, cfg)
			mu.Lock()
			defer mu.Unlock()
			sum.echoed += echoed
			sum.lost += lost
			if err != nil {
				sum.errors++
				if sum.firstErr == nil {
					sum.firstErr = err
				}
			} else {
				sum.peers++
			}
		}()
	}
	wg.Wait()
	sum.elapsed = time.Since(start)
	return sum, nil
}

// client sends a datagram and waits for its echo, until ctx ends.
func client(ctx context.Context, sys *actors.System, to netip.AddrPort, cfg config) (echoed, lost int64, err error) {
	local := "127.0.0.1:0"
	if to.Addr().Is6() && !to.Addr().Is4In6() {
		local = "[::1]:0"
	}
	p, err := udp.Bind(ctx, sys, local)
	if err != nil {
		return 0, 0, err
	}
	defer p.Close(context.Background())
	msg := bytes.Repeat([]byte{'u'}, cfg.size)
	for ctx.Err() == nil {
		if _, err := p.SendTo(ctx, to, msg, 0); err != nil {
			return echoed, lost, ignoreEnd(ctx, err)
		}
		d, err := p.RecvFrom(ctx, cfg.size+1, cfg.wait)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			lost++
			continue
		case err != nil:
			return echoed, lost, ignoreEnd(ctx, err)
		case !bytes.Equal(d.Data, msg):
			return echoed, lost, fmt.Errorf("echo mismatch after %d datagrams", echoed)
		}
		echoed++
	}
	return echoed, lost, nil
}

func ignoreEnd(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (s summary) print(out io.Writer, cfg config) {
	secs := s.elapsed.Seconds()
	fmt.Fprintf(out, "peers %d (errors %d), %d B datagrams, %v\n", s.peers, s.errors, cfg.size, s.elapsed.Round(time.Millisecond))
	fmt.Fprintf(out, "echoed %d (%.0f/s), lost %d\n", s.echoed, float64(s.echoed)/secs, s.lost)
	if s.firstErr != nil {
		fmt.Fprintf(out, "first error: %v\n", s.firstErr)
	}
}
