package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/tcp"
)

// clientConfig is one load generator run.
type clientConfig struct {
	impl     string // gonet (blocking net.Conn) or actornet (tcp.Client futures)
	mode     string // pingpong, bulk, udp, idle, handshake
	addr     string
	tls      bool // TLS (crypto/tls clients) instead of plain TCP
	echoOnce bool // idle: one size-byte echo on each connection before idling
	conns    int
	size     int
	warmup   time.Duration
	duration time.Duration
}

// clientResult is what a client prints as JSON after "END".
type clientResult struct {
	Ops    uint64  `json:"ops"`    // round trips, datagrams echoed, or bytes written
	Secs   float64 `json:"secs"`   // the measured window
	P50    float64 `json:"p50_us"` // round-trip latency percentiles (ping-pong, UDP)
	P99    float64 `json:"p99_us"`
	Errors uint64  `json:"errors"`
	TLS    string  `json:"tls,omitempty"` // what TLS negotiated (tlsSummary)
}

// window is the measured interval: workers count and record only while
// measuring is set.
type window struct {
	measuring atomic.Bool
	stop      atomic.Bool
	ops       atomic.Uint64
	errors    atomic.Uint64
	mu        sync.Mutex
	lat       []time.Duration
}

// fail counts an error, unless the load has stopped (cleanup closing a
// connection under a worker is no error).
func (w *window) fail() {
	if !w.stop.Load() {
		w.errors.Add(1)
	}
}

func (w *window) record(lat []time.Duration) {
	w.mu.Lock()
	w.lat = append(w.lat, lat...)
	w.mu.Unlock()
}

// clientMain connects, warms up, prints START, measures, prints END and
// the result. For idle it prints START once connected and holds the
// connections until stdin closes.
func clientMain(cfg clientConfig) error {
	w := &window{}
	var (
		wg         sync.WaitGroup
		cleanup    func()
		err        error
		negotiated string
	)
	switch cfg.mode {
	case "pingpong":
		cleanup, err = startPingPong(cfg, w, &wg, &negotiated)
	case "handshake":
		cleanup, err = startHandshakes(cfg, w, &wg, &negotiated)
	case "bulk":
		cleanup, err = startBulk(cfg, w, &wg)
	case "udp":
		cleanup, err = startUDP(cfg, w, &wg)
	case "idle":
		return idle(cfg)
	default:
		err = fmt.Errorf("unknown client mode %q", cfg.mode)
	}
	if err != nil {
		return err
	}
	time.Sleep(cfg.warmup) // the load runs; nothing waits on it
	w.measuring.Store(true)
	fmt.Println("START")
	t := time.Now()
	time.Sleep(cfg.duration)
	w.measuring.Store(false)
	secs := time.Since(t).Seconds()
	ops := w.ops.Load()
	fmt.Println("END")
	w.stop.Store(true)
	cleanup()
	wg.Wait()
	res := clientResult{Ops: ops, Secs: secs, Errors: w.errors.Load(), TLS: negotiated}
	if len(w.lat) > 0 {
		slices.Sort(w.lat)
		res.P50 = float64(w.lat[len(w.lat)/2]) / 1e3
		res.P99 = float64(w.lat[len(w.lat)*99/100]) / 1e3
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// dialAll opens n connections to addr (TLS ones when cfg is not nil).
func dialAll(addr string, n int, cfg *tls.Config) ([]net.Conn, error) {
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := dial(addr, cfg)
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, fmt.Errorf("dial %d of %d: %w", len(conns)+1, n, err)
		}
		conns = append(conns, c)
	}
	return conns, nil
}

// startPingPong runs one worker per connection: write size bytes, read
// them back, and again.
func startPingPong(cfg clientConfig, w *window, wg *sync.WaitGroup, negotiated *string) (func(), error) {
	if cfg.impl == implActornet || cfg.impl == implActornetURing {
		if cfg.tls {
			return nil, errors.New("the actornet client has no TLS: use -impl gonet")
		}
		backend := actors.BackendEpoll
		if cfg.impl == implActornetURing {
			backend = actors.BackendIOUring
		}
		return startActornetPingPong(cfg, backend, w, wg)
	}
	var tcfg *tls.Config
	if cfg.tls {
		tcfg = clientTLS()
	}
	conns, err := dialAll(cfg.addr, cfg.conns, tcfg)
	if err != nil {
		return nil, err
	}
	*negotiated = tlsSummary(conns[0])
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg, buf := make([]byte, cfg.size), make([]byte, cfg.size)
			lat := make([]time.Duration, 0, 1024)
			for !w.stop.Load() {
				t := time.Now()
				if _, err := c.Write(msg); err != nil {
					w.fail()
					break
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					w.fail()
					break
				}
				if w.measuring.Load() {
					w.ops.Add(1)
					lat = append(lat, time.Since(t))
				}
			}
			w.record(lat)
		}()
	}
	return func() {
		for _, c := range conns {
			c.Close()
		}
	}, nil
}

// startActornetPingPong is the same load through actornet's client
// futures API: tcp.Client Send and RecvExact, on the given backend.
func startActornetPingPong(cfg clientConfig, backend actors.Backend, w *window, wg *sync.WaitGroup) (func(), error) {
	sys, err := actors.Start(actors.WithBackend(backend))
	if err != nil {
		return nil, err
	}
	if got := sys.Backend(); got != backend {
		_ = sys.StopNow()
		return nil, fmt.Errorf("actornet client: backend %v asked, %v running (the kernel refused it)", backend, got)
	}
	ctx := context.Background()
	clients := make([]*tcp.Client, 0, cfg.conns)
	for range cfg.conns {
		c, err := tcp.Dial(ctx, sys, cfg.addr, tcp.WithLinger(0)) // no TIME_WAIT (abortOnClose)
		if err != nil {
			_ = sys.StopNow()
			return nil, err
		}
		clients = append(clients, c)
	}
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := make([]byte, cfg.size)
			lat := make([]time.Duration, 0, 1024)
			for !w.stop.Load() {
				t := time.Now()
				if _, err := c.Send(ctx, msg); err != nil {
					w.fail()
					break
				}
				if _, err := c.RecvExact(ctx, cfg.size); err != nil {
					w.fail()
					break
				}
				if w.measuring.Load() {
					w.ops.Add(1)
					lat = append(lat, time.Since(t))
				}
			}
			w.record(lat)
		}()
	}
	return func() { _ = sys.StopNow() }, nil
}

// startBulk writes 64 KiB chunks one way on each connection; ops counts
// bytes.
func startBulk(cfg clientConfig, w *window, wg *sync.WaitGroup) (func(), error) {
	conns, err := dialAll(cfg.addr, cfg.conns, nil)
	if err != nil {
		return nil, err
	}
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			chunk := make([]byte, 64<<10)
			for !w.stop.Load() {
				n, err := c.Write(chunk)
				if w.measuring.Load() {
					w.ops.Add(uint64(n))
				}
				if err != nil {
					if !w.stop.Load() {
						w.errors.Add(1)
					}
					return
				}
			}
		}()
	}
	return func() {
		for _, c := range conns {
			c.Close()
		}
	}, nil
}

// startUDP runs ping-pong peers: send a datagram, wait for its echo (a
// lost one is given up after 50 ms and counted as an error).
func startUDP(cfg clientConfig, w *window, wg *sync.WaitGroup) (func(), error) {
	peers := make([]net.Conn, 0, cfg.conns)
	for range cfg.conns {
		c, err := net.Dial("udp", cfg.addr)
		if err != nil {
			return nil, err
		}
		peers = append(peers, c)
	}
	for _, c := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg, buf := make([]byte, cfg.size), make([]byte, 64<<10)
			lat := make([]time.Duration, 0, 1024)
			for !w.stop.Load() {
				t := time.Now()
				if _, err := c.Write(msg); err != nil {
					w.errors.Add(1)
					continue
				}
				_ = c.SetReadDeadline(t.Add(50 * time.Millisecond))
				if _, err := c.Read(buf); err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						w.errors.Add(1)
						continue
					}
					return
				}
				if w.measuring.Load() {
					w.ops.Add(1)
					lat = append(lat, time.Since(t))
				}
			}
			w.record(lat)
		}()
	}
	return func() {
		for _, c := range peers {
			c.Close()
		}
	}, nil
}

// idle opens the connections (TLS ones with their handshake done, with
// -tls), says START, and holds them until stdin closes. With echoOnce
// each first echoes one message, so that the server has finished its
// side of the handshake (and set up what a connection that has carried
// data holds) before START.
func idle(cfg clientConfig) error {
	var tcfg *tls.Config
	if cfg.tls {
		tcfg = clientTLS()
	}
	conns, err := dialAll(cfg.addr, cfg.conns, tcfg)
	if err != nil {
		return err
	}
	if cfg.echoOnce {
		msg, buf := make([]byte, cfg.size), make([]byte, cfg.size)
		for i, c := range conns {
			if _, err := c.Write(msg); err != nil {
				return fmt.Errorf("idle echo %d: write: %w", i, err)
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				return fmt.Errorf("idle echo %d: read: %w", i, err)
			}
		}
	}
	// Without echoOnce, idle connections are measured as accepted: one
	// round trip on each would make the server allocate its per-
	// connection state.
	fmt.Println("START")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
	return nil
}
