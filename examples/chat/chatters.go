package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/tcp"
)

type summary struct{ sent, delivered, farewells int }

// chatters connects cfg.clients clients; once all are in the room, each
// sends cfg.lines lines, reads until it has every client's lines (its own
// included), then half-closes and reads the room's farewell and the end
// of the stream.
func chatters(ctx context.Context, sys *actors.System, addr string, cfg config) (summary, error) {
	readers := make([]*bufio.Reader, cfg.clients)
	conns := make([]*tcp.NetConn, cfg.clients)
	for i := range conns {
		c, err := tcp.Dial(ctx, sys, addr)
		if err != nil {
			return summary{}, err
		}
		conn, err := tcp.NewNetConn(ctx, c)
		if err != nil {
			return summary{}, err
		}
		defer conn.Close()
		if dl, ok := ctx.Deadline(); ok {
			_ = conn.SetDeadline(dl)
		}
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
			if err := chatter(ctx, conns[i], readers[i], i, cfg, &mu, &sum); err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
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

// chatter is client i of the default run.
func chatter(ctx context.Context, conn *tcp.NetConn, r *bufio.Reader, i int, cfg config, mu *sync.Mutex, sum *summary) error {
	for k := 0; k < cfg.lines; k++ {
		if _, err := fmt.Fprintf(conn, "line %d from client %d\n", k, i); err != nil {
			return err
		}
		mu.Lock()
		sum.sent++
		mu.Unlock()
	}
	want := cfg.lines * cfg.clients
	for got := 0; got < want; got++ {
		line, err := readLine(ctx, r, "")
		if err != nil {
			return err
		}
		if !strings.Contains(line, ": line ") {
			return fmt.Errorf("got %q", line)
		}
		mu.Lock()
		sum.delivered++
		mu.Unlock()
	}
	// Leave: half-close, and the room answers with the farewell.
	if err := conn.CloseWrite(); err != nil {
		return err
	}
	bye, err := readLine(ctx, r, "* bye ")
	if err != nil {
		return err
	}
	if !strings.HasSuffix(bye, fmt.Sprintf(", lines relayed: %d\n", cfg.lines)) {
		return fmt.Errorf("farewell %q", bye)
	}
	if rest, err := r.ReadString('\n'); err != io.EOF || rest != "" {
		return fmt.Errorf("after the farewell: %q, %v; want the end of the stream", rest, err)
	}
	mu.Lock()
	sum.farewells++
	mu.Unlock()
	return nil
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
