// Command httpserver serves net/http over an actornet listener: every
// connection is a socket actor, and Go's HTTP server runs on top through
// tcp.NetListener and tcp.NetConn.
//
//	go run ./examples/httpserver                          # serve, fetch a few pages with net/http's client, print them, exit
//	go run ./examples/httpserver -listen 127.0.0.1:8080   # serve until interrupted; curl http://127.0.0.1:8080/hello
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/tcp"
)

func main() {
	listen := flag.String("listen", "", "serve on `ADDR` until interrupted")
	flag.Usage = func() { // named after the example, not the go run binary
		fmt.Fprintf(flag.CommandLine.Output(), "Usage of httpserver:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*listen, os.Stdout); err != nil {
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

func run(listen string, out io.Writer) error {
	sys, err := actors.Start()
	if err != nil {
		return err
	}
	defer sys.StopNow()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
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
	served := make(chan error, 1)
	go func() { served <- srv.Serve(tcp.NewNetListener(l)) }()
	fmt.Fprintf(out, "http server on http://%s\n", l.Addr())

	if listen == "" {
		if err := fetch(ctx, out, "http://"+l.Addr().String()); err != nil {
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
func fetch(ctx context.Context, out io.Writer, base string) error {
	tr := &http.Transport{DialContext: (&net.Dialer{}).DialContext}
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
		fmt.Fprintf(out, "GET %-9s %d %q\n", path, resp.StatusCode, body)
	}
	return nil
}
