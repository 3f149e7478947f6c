package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/tcp"
)

type summary struct{ sent, delivered int }

// chatters connects cfg.clients clients; once all have joined, each sends
// cfg.lines lines and reads until it has every other client's lines.
func chatters(ctx context.Context, sys *actors.System, addr string, cfg config) (summary, error) {
	readers := make([]*bufio.Reader, cfg.clients)
	conns := make([]*tcp.Conn, cfg.clients)
	for i := range conns {
		c, err := tcp.Dial(ctx, sys, addr)
		if err != nil {
			return summary{}, err
		}
		conn, err := tcp.NewConn(ctx, c)
		if err != nil {
			return summary{}, err
		}
		defer conn.Close()
		conns[i], readers[i] = conn, bufio.NewReader(conn)
		// The room welcomes a member once it is in: wait for it, so no
		// line is sent before every client is in the room.
		if _, err := readLine(ctx, readers[i], "* welcome"); err != nil {
			return summary{}, err
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var sum summary
	errs := make(chan error, cfg.clients)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < cfg.lines; k++ {
				if _, err := fmt.Fprintf(conns[i], "line %d from client %d\n", k, i); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				sum.sent++
				mu.Unlock()
			}
			want := cfg.lines * (cfg.clients - 1)
			for got := 0; got < want; got++ {
				line, err := readLine(ctx, readers[i], "")
				if err != nil {
					errs <- err
					return
				}
				if !strings.Contains(line, "line ") || strings.Contains(line, fmt.Sprintf("from client %d\n", i)) {
					errs <- fmt.Errorf("client %d got %q", i, line)
					return
				}
				mu.Lock()
				sum.delivered++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return sum, err
	}
	return sum, nil
}

// readLine reads the next line with the given prefix, skipping join and
// leave notices unless they are what is asked for.
func readLine(ctx context.Context, r *bufio.Reader, prefix string) (string, error) {
	for ctx.Err() == nil {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if prefix == "" && strings.HasPrefix(line, "* ") {
			continue
		}
		if strings.HasPrefix(line, prefix) {
			return line, nil
		}
	}
	return "", ctx.Err()
}
