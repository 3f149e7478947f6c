package test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/collectors"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/test/testkit"
)

// faultProxy starts a toxiproxy proxy (the library, in this process) on
// loopback in front of upstream, with one toxic given as toxiproxy's JSON,
// and returns its address. It stops at cleanup.
func faultProxy(t *testing.T, upstream, toxic string) string {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	srv.Metrics.ProxyMetrics = collectors.NewProxyMetricCollectors()
	p := toxiproxy.NewProxy(srv, t.Name(), "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	if toxic != "" {
		if _, err := p.Toxics.AddToxicJson(strings.NewReader(toxic)); err != nil {
			t.Fatalf("toxic %s: %v", toxic, err)
		}
	}
	return p.Listen
}

// goEcho is a Go net echo server on loopback; it and its connections close
// at cleanup.
func goEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
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
			go func() { defer wg.Done(); _, _ = io.Copy(c, c); c.Close() }()
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

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i/251)
	}
	return b
}

// TestFaultsClient drives the actornet client through each network fault
// to a Go net echo server: the right status, intact data.
func TestFaultsClient(t *testing.T) {
	sys := testkit.System(t)
	dial := func(t *testing.T, toxic string) (*tcp.Client, context.Context) {
		ctx := testkit.Context(t)
		c, err := tcp.Dial(ctx, sys, faultProxy(t, goEcho(t), toxic))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close(context.Background()) })
		return c, ctx
	}
	t.Run("latency", func(t *testing.T) {
		c, ctx := dial(t, `{"type":"latency","stream":"downstream","attributes":{"latency":60}}`)
		msg := pattern(1000)
		if _, err := c.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		// 10 ms is too short: a timeout, keeping what arrived (nothing).
		if got, err := c.RecvExact(testkit.Within(t, 10*time.Millisecond), len(msg)); !errors.Is(err, os.ErrDeadlineExceeded) || len(got) != 0 {
			t.Fatalf("RecvExact(10ms) = %d bytes, %v; want a timeout", len(got), err)
		}
		start := time.Now()
		got, err := c.RecvExact(ctx, len(msg))
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("RecvExact = %d bytes, %v", len(got), err)
		}
		t.Logf("echo through 60 ms of latency after %v more", time.Since(start).Round(time.Millisecond))
	})
	t.Run("bandwidth", func(t *testing.T) {
		c, ctx := dial(t, `{"type":"bandwidth","stream":"downstream","attributes":{"rate":512}}`) // KB/s
		msg := pattern(128 << 10)
		reader := c.RecvExactAsync(len(msg), 10*time.Second)
		start := time.Now()
		if _, err := c.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		res, err := reader.Wait(ctx)
		if err != nil || !bytes.Equal(res.GetData(), msg) {
			t.Fatalf("echo of 128 KiB at 512 KB/s: %v, %v", err, res.GetStatus())
		}
		if took := time.Since(start); took < 150*time.Millisecond {
			t.Fatalf("128 KiB at 512 KB/s took %v: the limit was not in the path", took)
		}
	})
	t.Run("slicer", func(t *testing.T) {
		c, ctx := dial(t, `{"type":"slicer","stream":"downstream","attributes":{"average_size":7,"size_variation":5,"delay":50}}`)
		msg := pattern(20000)
		reader := c.RecvExactAsync(len(msg), 10*time.Second)
		if _, err := c.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		res, err := reader.Wait(ctx)
		if err != nil || !bytes.Equal(res.GetData(), msg) {
			t.Fatalf("sliced echo: %v, %v", err, res.GetStatus())
		}
	})
	t.Run("timeout", func(t *testing.T) {
		// A black hole: nothing comes back, and the Recv times out.
		c, ctx := dial(t, `{"type":"timeout","stream":"downstream","attributes":{"timeout":0}}`)
		if _, err := c.Send(ctx, []byte("anyone?")); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Recv(testkit.Within(t, 100*time.Millisecond), 64); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Recv into a black hole: %v, want a timeout", err)
		}
	})
	t.Run("reset_peer", func(t *testing.T) {
		c, ctx := dial(t, `{"type":"reset_peer","stream":"downstream","attributes":{"timeout":50}}`)
		_, _ = c.Send(ctx, []byte("x"))
		_, err := c.Recv(ctx, 64)
		if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
			t.Fatalf("Recv after a reset: %v, want connection reset", err)
		}
		if !strings.Contains(err.Error(), "recv") {
			t.Fatalf("%v does not name recv", err)
		}
	})
	t.Run("slow_close", func(t *testing.T) {
		c, ctx := dial(t, `{"type":"slow_close","stream":"downstream","attributes":{"delay":100}}`)
		msg := pattern(100)
		if _, err := c.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if got, err := c.RecvExact(ctx, len(msg)); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo before the slow close: %v", err)
		}
		if err := c.Shutdown(ctx, actors.ShutdownWrite); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Recv(ctx, 64); !errors.Is(err, io.EOF) {
			t.Fatalf("after our FIN: %v, want end of stream once the close arrives", err)
		}
	})
	t.Run("limit_data", func(t *testing.T) {
		c, ctx := dial(t, `{"type":"limit_data","stream":"downstream","attributes":{"bytes":1000}}`)
		msg := pattern(3000)
		if _, err := c.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		got, err := c.RecvExact(ctx, len(msg))
		if !errors.Is(err, io.EOF) || len(got) > 1000 || !bytes.Equal(got, msg[:len(got)]) {
			t.Fatalf("RecvExact past the limit = %d bytes, %v; want an intact prefix of at most 1000 and end of stream", len(got), err)
		}
	})
}

// TestFaultsServer drives a push-mode actornet echo server through each
// network fault from a Go net client: the handler sees the right events,
// the data is intact, the connection actor ends.
func TestFaultsServer(t *testing.T) {
	serve := func(t *testing.T, toxic string, opts ...tcp.ServeOption) (net.Conn, chan any, *actors.System) {
		sys := testkit.System(t)
		events := make(chan any, 4096)
		h := tcp.HandlerFunc(func(c *tcp.Conn, msg any) {
			switch m := msg.(type) {
			case *messages.Received:
				_ = c.Write(m.GetData())
			case *messages.PeerClosed, *messages.Closed, *messages.ErrorClosed:
				events <- m
			}
		})
		l, err := tcp.Serve(testkit.Context(t), sys, "127.0.0.1:0", h, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close(context.Background()) })
		c, err := net.Dial("tcp", faultProxy(t, l.Addr().String(), toxic))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(testkit.Timeout))
		return c, events, sys
	}
	echo := func(t *testing.T, c net.Conn, n int) {
		t.Helper()
		msg := pattern(n)
		errc := make(chan error, 1)
		go func() { _, err := c.Write(msg); errc <- err }()
		got := make([]byte, n)
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo of %d bytes: %v, intact %v", n, err, bytes.Equal(got, msg))
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	next := func(t *testing.T, events chan any) any {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-time.After(testkit.Timeout):
			t.Fatal("no event")
			return nil
		}
	}
	for _, tc := range []struct{ name, toxic string }{
		{"latency", `{"type":"latency","stream":"upstream","attributes":{"latency":50}}`},
		{"bandwidth", `{"type":"bandwidth","stream":"upstream","attributes":{"rate":512}}`},
		{"slicer", `{"type":"slicer","stream":"upstream","attributes":{"average_size":5,"size_variation":4,"delay":20}}`},
		{"slow_close", `{"type":"slow_close","stream":"upstream","attributes":{"delay":100}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, events, _ := serve(t, tc.toxic)
			echo(t, c, 64<<10)
			_ = c.(*net.TCPConn).CloseWrite()
			if e := next(t, events); fmt.Sprintf("%T", e) != "*messages.PeerClosed" {
				t.Fatalf("after the client's FIN: %T %v, want PeerClosed", e, e)
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		// A black hole between them: the server's idle timeout ends the
		// connection.
		c, events, _ := serve(t, `{"type":"timeout","stream":"upstream","attributes":{"timeout":0}}`, tcp.WithIdleTimeout(200*time.Millisecond))
		_, _ = c.Write([]byte("lost"))
		ec, ok := next(t, events).(*messages.ErrorClosed)
		if !ok || ec.GetCause().GetOp() != "idle" {
			t.Fatalf("event %v, want ErrorClosed for idle", ec)
		}
	})
	t.Run("reset_peer", func(t *testing.T) {
		c, events, _ := serve(t, `{"type":"reset_peer","stream":"upstream","attributes":{"timeout":50}}`)
		_, _ = c.Write([]byte("x"))
		switch e := next(t, events).(type) {
		case *messages.ErrorClosed:
			if e.GetCause().GetCode() != messages.IOStatus_IO_STATUS_CONNECTION_RESET {
				t.Fatalf("ErrorClosed %v, want connection reset", e)
			}
		case *messages.PeerClosed:
			// The proxy's upstream side may end with a FIN rather than a RST.
		default:
			t.Fatalf("event %T %v after a reset", e, e)
		}
	})
	t.Run("limit_data", func(t *testing.T) {
		c, events, _ := serve(t, `{"type":"limit_data","stream":"upstream","attributes":{"bytes":1000}}`)
		msg := pattern(3000)
		_, _ = c.Write(msg)
		got, _ := io.ReadAll(c)
		if len(got) > 1000 || !bytes.Equal(got, msg[:len(got)]) {
			t.Fatalf("echo past the limit: %d bytes, intact prefix %v", len(got), bytes.Equal(got, msg[:min(len(got), len(msg))]))
		}
		if e := next(t, events); e == nil {
			t.Fatal("no end event")
		}
	})
}
