package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// clientTLS is the load generator's TLS: crypto/tls clients that skip
// verifying the server's certificate (the harness made it) and keep no
// session cache, so every handshake is a full one. Key exchange, version
// and cipher are crypto/tls's defaults; the client reports what was
// negotiated (clientResult.TLS).
func clientTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true}
}

// dial opens one connection to addr: TCP, or TLS with its handshake done
// when cfg is not nil.
func dial(addr string, cfg *tls.Config) (net.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second, Control: abortOnClose}
	if cfg == nil {
		return d.Dial("tcp", addr)
	}
	return tls.DialWithDialer(d, "tcp", addr, cfg)
}

// tlsSummary says what a TLS connection negotiated: "TLS 1.3
// X25519MLKEM768 TLS_AES_128_GCM_SHA256"; empty for plain TCP.
func tlsSummary(c net.Conn) string {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return ""
	}
	st := tc.ConnectionState()
	return fmt.Sprintf("%s %s %s", tls.VersionName(st.Version), st.CurveID, tls.CipherSuiteName(st.CipherSuite))
}

// startHandshakes runs cfg.conns workers, each in a loop: connect,
// complete a full TLS handshake, echo one cfg.size message, close. An op
// is one such connection; its latency is the whole of it.
func startHandshakes(cfg clientConfig, w *window, wg *sync.WaitGroup, negotiated *string) (func(), error) {
	tcfg := clientTLS()
	c, err := dial(cfg.addr, tcfg)
	if err != nil {
		return nil, fmt.Errorf("handshake probe: %w", err)
	}
	*negotiated = tlsSummary(c)
	c.Close()
	for range cfg.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg, buf := make([]byte, cfg.size), make([]byte, cfg.size)
			lat := make([]time.Duration, 0, 1024)
			for !w.stop.Load() {
				t := time.Now()
				if err := handshakeOnce(cfg.addr, tcfg, msg, buf); err != nil {
					w.fail()
					continue
				}
				if w.measuring.Load() {
					w.ops.Add(1)
					lat = append(lat, time.Since(t))
				}
			}
			w.record(lat)
		}()
	}
	return func() {}, nil
}

// handshakeOnce is one connection of startHandshakes.
func handshakeOnce(addr string, cfg *tls.Config, msg, buf []byte) error {
	c, err := dial(addr, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write(msg); err != nil {
		return err
	}
	_, err = io.ReadFull(c, buf)
	return err
}

// abortOnClose sets SO_LINGER to 0 on a client socket before it connects,
// so that its close resets the connection instead of leaving the port in
// TIME_WAIT for a minute: a run opens tens of thousands of connections,
// and the TIME_WAITs of connect's ports (the even ones) would leave tests
// run after it no two consecutive ports free (a cluster node's).
func abortOnClose(_, _ string, c syscall.RawConn) error {
	var err error
	if cerr := c.Control(func(fd uintptr) {
		err = syscall.SetsockoptLinger(int(fd), syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1})
	}); cerr != nil {
		return cerr
	}
	return err
}
