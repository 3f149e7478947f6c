// Command bench is actornet's benchmark harness: echo and sink servers
// built on actornet push mode (on epoll, the default, and on io_uring:
// rows actornet and actornet-uring), Go's net package (a goroutine per
// connection) and gnet v2, driven by one load generator, in separate
// processes pinned with taskset; its client table runs actornet's client
// futures on both backends beside Go net's blocking client. Its TLS tables put actornet's
// tcp.WithTLS (on both backends) beside crypto/tls over Go net and nbio's
// non-blocking TLS: echo, full handshakes per second, and memory per idle
// connection.
//
//	cd test/bench && go run .             # the whole matrix (about 12 minutes); writes results/
//	go run . -servers actornet,gnet       # fewer servers (Go net, the baseline, always runs)
//	go run . -tables tls -out DIR         # the TLS tables (about 4 minutes)
//	go run . -quick                       # one repeat of a few cells (TLS included), to try it out
//	go run . -tables tls-echo -cpuprofile DIR   # and a CPU profile of each run's server
//
// Each measured run starts a server process and a client process, waits
// until the client has connected and warmed up, then measures a fixed
// window: the client counts round trips (or bytes, or datagrams) and
// latencies; the harness samples the server's CPU time (utime + stime from
// /proc/PID/stat) and RSS at the window's edges. Servers alternate within
// each repeat; the tables give medians of the repeats and ratios to Go net.
//
// It lives in its own module (test/bench/go.mod, with a replace of the
// library to ../..) so that gnet and nbio never enter the library's
// go.mod.
package main
