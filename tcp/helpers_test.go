package tcp

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/test/testkit"
)

const testTimeout = testkit.Timeout

var (
	forEachFamily = testkit.ForEachFamily
	newSystem     = testkit.System
	testCtx       = testkit.Context
	within        = testkit.Within
)

// goServer is a plain Go net server on addr that runs handle for each
// connection; it is closed, and its goroutines joined, at cleanup.
func goServer(t testing.TB, addr string, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// echo copies what it reads back until the peer closes. (Not io.Copy: on
// TCP it splices through a pipe from a pool the runtime keeps open, which
// the fd leak check would report.)
func echo(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// dial connects a new client to addr or fails the test.
func dial(t testing.TB, sys *actors.System, addr string) *Client {
	t.Helper()
	c, err := Dial(testCtx(t), sys, addr)
	if err != nil {
		t.Fatalf("Dial %s: %v", addr, err)
	}
	t.Cleanup(func() {
		if err := c.Close(context.Background()); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// dialWithin dials addr with Go's net, the connection closed at cleanup
// and its deadline testTimeout away, and sends first if it is not empty.
func dialWithin(t testing.TB, addr, first string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if err := nc.SetDeadline(time.Now().Add(testTimeout)); err != nil {
		t.Fatal(err)
	}
	if first != "" {
		if _, err := nc.Write([]byte(first)); err != nil {
			t.Fatal(err)
		}
	}
	return nc
}
