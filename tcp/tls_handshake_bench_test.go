package tcp

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
)

// BenchmarkTLSHandshake: full handshakes one after another (connect,
// handshake, one 64-byte echo, close) against a push-mode WithTLS server
// and against crypto/tls over Go's net (a goroutine per connection), both
// in this process with the same certificate and a Go client: run pinned
// (taskset -c 0) with -cpuprofile to see where a handshake's server time
// goes.
func BenchmarkTLSHandshake(b *testing.B) {
	f := newTLSFixture(b)
	run := func(b *testing.B, addr string) {
		msg, buf := make([]byte, 64), make([]byte, 64)
		cfg := f.clientConfig()
		cfg.ClientSessionCache = nil // full handshakes
		b.ReportAllocs()
		for b.Loop() {
			c, err := tls.Dial("tcp", addr, cfg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Write(msg); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	}
	b.Run("actornet", func(b *testing.B) {
		sys := newSystem(b)
		l, err := Serve(testCtx(b), sys, "127.0.0.1:0", echoTLS, WithTLS(f.serverConfig()))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = l.Close(testCtx(b)) })
		run(b, l.Addr().String())
	})
	b.Run("gonet", func(b *testing.B) {
		l, err := tls.Listen("tcp", "127.0.0.1:0", f.serverConfig())
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func(c net.Conn) {
					defer c.Close()
					_, _ = io.Copy(c, c)
				}(c)
			}
		}()
		b.Cleanup(func() { l.Close(); <-done })
		run(b, l.Addr().String())
	})
}
