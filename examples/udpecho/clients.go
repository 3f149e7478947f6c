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
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/udp"
)

type summary struct {
	to       netip.AddrPort
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
	sum := summary{to: to}
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
		if _, err := p.SendTo(ctx, to, msg); err != nil {
			return echoed, lost, ignoreEnd(ctx, err)
		}
		// The wait is the request's own timeout: the run's end (ctx)
		// cuts a wait short without counting a loss.
		res, err := p.RecvFromAsync(cfg.size+1, cfg.wait).Wait(ctx)
		if err == nil {
			err = res.GetStatus().Err()
		}
		switch {
		case ctx.Err() != nil:
			return echoed, lost, nil
		case errors.Is(err, os.ErrDeadlineExceeded):
			lost++
			continue
		case err != nil:
			return echoed, lost, fmt.Errorf("datagram %d: %w", echoed+lost+1, err)
		case !bytes.Equal(res.GetData(), msg):
			return echoed, lost, fmt.Errorf("datagram %d: the echo (%d bytes) differs from what was sent (%d bytes)", echoed+lost+1, len(res.GetData()), len(msg))
		}
		echoed++
	}
	return echoed, lost, nil
}

// nothingAnswered is the error of a run in which no datagram came back.
// The clients' peers are not connected, so the kernel does not tell them
// that nothing listens at target (an ICMP port unreachable); a connected
// peer sends one more datagram to tell that from silence.
func nothingAnswered(ctx context.Context, sys *actors.System, sum summary, cfg config) error {
	err := fmt.Errorf("nothing answered at %s: %d datagrams, none echoed within -wait %v", sum.to, sum.lost, cfg.wait)
	p, derr := udp.NewPeer(sys)
	if derr != nil {
		return fmt.Errorf("%w (%v)", err, derr)
	}
	defer p.Close(context.Background())
	if derr = p.ConnectAddrPort(ctx, sum.to); derr != nil {
		return fmt.Errorf("%w (%v)", err, derr)
	}
	if _, derr = p.Send(ctx, bytes.Repeat([]byte{'u'}, cfg.size)); derr == nil {
		var res *messages.RecvResult
		if res, derr = p.RecvAsync(cfg.size+1, cfg.wait).Wait(ctx); derr == nil {
			derr = res.GetStatus().Err()
		}
	}
	switch {
	case derr == nil:
		return fmt.Errorf("%w (one more datagram was echoed: the server is slow or overloaded? try a longer -wait)", err)
	case errors.Is(derr, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: is a UDP echo server running there?", err)
	}
	return fmt.Errorf("%w: %v", err, derr)
}

// ignoreEnd drops the error of the send the run's end cut short: ctx's,
// or the socket actor's timeout at ctx's deadline, which may come before
// ctx itself says it has ended.
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
	fmt.Fprintf(out, "peers %d (errors %d), %d B datagrams, %v\n", s.peers, s.errors, cfg.size, s.elapsed.Round(time.Millisecond))
	fmt.Fprintf(out, "echoed %d (%.0f/s), lost %d\n", s.echoed, float64(s.echoed)/secs, s.lost)
	if s.firstErr != nil {
		fmt.Fprintf(out, "first error: %v\n", s.firstErr)
	}
}
