// Command httpserver serves net/http over an actornet listener: every
// connection is a socket actor, and Go's HTTP server runs on top through
// tcp.NetListener and tcp.NetConn.
//
//	go run ./examples/httpserver                          # serve, fetch a few pages with net/http's client, print them, exit
//	go run ./examples/httpserver -listen 127.0.0.1:8080   # serve until interrupted; curl http://127.0.0.1:8080/hello
//	go run ./examples/httpserver -tls                     # the same over HTTPS, a certificate from a throwaway CA made at start
//	go run ./examples/httpserver -listen 127.0.0.1:8443 -tls   # curl -k https://127.0.0.1:8443/
//	go run ./examples/httpserver -listen 127.0.0.1:8443 -tls -cert cert.pem -key key.pem
//
// With -tls, crypto/tls runs over tcp.NetConn (tls.NewListener over
// tcp.NewNetListener), as net/http needs a net.Conn: a goroutine per
// connection, as with Go's own server. (A push-mode server gets TLS
// inside its connection actors with tcp.WithTLS: see examples/echo.)
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/test/testkit/certs"
)

// options are the command line's settings.
type options struct {
	listen    string
	tls       bool
	cert, key string
}

func main() {
	var o options
	flag.StringVar(&o.listen, "listen", "", "serve on `ADDR` until interrupted")
	flag.BoolVar(&o.tls, "tls", false, "serve HTTPS: with -cert/-key, or a certificate from a throwaway CA made at start")
	flag.StringVar(&o.cert, "cert", "", "the server's certificate chain, PEM `FILE` (with -tls and -key)")
	flag.StringVar(&o.key, "key", "", "the server's private key, PEM `FILE` (with -tls and -cert)")
	flag.Usage = func() { // named after the example, not the go run binary
		fmt.Fprintf(flag.CommandLine.Output(), "Usage of httpserver:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "httpserver: unexpected argument %q: every setting is a flag\n", flag.Arg(0))
		os.Exit(2)
	}
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "httpserver:", err)
		os.Exit(1)
	}
}

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from a socket actor, %s\n", r.RemoteAddr)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "actornet httpserver: try /hello\n")
	})
	return mux
}

func run(o options, out io.Writer) error {
	if !o.tls && (o.cert != "" || o.key != "") || (o.cert == "") != (o.key == "") {
		return errors.New("-cert and -key go together, and with -tls")
	}
	listen := o.listen
	sys, err := actors.Start()
	if err != nil {
		return err
	}
	defer sys.StopNow()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	addr := listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := tcp.Listen(ctx, sys, addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler(), ReadHeaderTimeout: 10 * time.Second}
	var ln net.Listener = tcp.NewNetListener(l)
	scheme, roots := "http", (*x509.CertPool)(nil)
	if o.tls {
		cert, pool, err := certificate(o)
		if err != nil {
			_ = ln.Close()
			return err
		}
		scheme, roots = "https", pool
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}})
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(out, "http server on %s://%s (%s)\n", scheme, l.Addr(), sys.Backend())
	if listen != "" && o.tls && o.cert == "" {
		fmt.Fprintf(out, "its certificate is from a throwaway CA: clients skip verification (curl -k https://%s/)\n", l.Addr())
	}

	if listen == "" {
		if err := fetch(ctx, out, scheme+"://"+l.Addr().String(), roots); err != nil {
			return err
		}
	} else {
		<-ctx.Done()
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// fetch gets a few pages with net/http's client over Go's own dialer.
func fetch(ctx context.Context, out io.Writer, base string, roots *x509.CertPool) error {
	tr := &http.Transport{DialContext: (&net.Dialer{}).DialContext, TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for _, path := range []string{"/", "/hello", "/missing"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "GET %-9s %d %s %q\n", path, resp.StatusCode, resp.Proto, body)
	}
	return nil
}

// certificate is the server's: from -cert and -key, or one from a
// throwaway CA (with the pool that trusts it).
func certificate(o options) (tls.Certificate, *x509.CertPool, error) {
	if o.cert != "" {
		cert, err := tls.LoadX509KeyPair(o.cert, o.key)
		return cert, nil, err
	}
	return certs.SelfSigned()
}
