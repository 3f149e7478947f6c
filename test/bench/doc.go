// Command bench is actornet's benchmark harness: echo and sink servers
// built on actornet push mode, Go's net package (a goroutine per
// connection) and gnet v2, driven by one load generator, in separate
// processes pinned with taskset.
//
//	cd test/bench && go run .             # the whole matrix (under 10 minutes); writes results/
//	go run . -quick                       # one repeat of a few cells, to try it out
//
// Each measured run starts a server process and a client process, waits
// until the client has connected and warmed up, then measures a fixed
// window: the client counts round trips (or bytes, or datagrams) and
// latencies; the harness samples the server's CPU time (utime + stime from
// /proc/PID/stat) and RSS at the window's edges. Servers alternate within
// each repeat; the tables give medians of the repeats and ratios to Go net.
//
// It lives in its own module (test/bench/go.mod, with a replace of the
// library to ../..) so that gnet never enters the library's go.mod.
package main
