package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "server":
			fs := flag.NewFlagSet("server", flag.ExitOnError)
			impl := fs.String("impl", implActornet, "actornet (epoll), actornet-uring (io_uring), gonet, gnet or (with -tls) nbio")
			mode := fs.String("mode", modeEcho, "echo, sink or udp")
			addr := fs.String("addr", "127.0.0.1:0", "listen address")
			useTLS := fs.Bool("tls", false, "serve TLS (echo only) with a self-signed ECDSA P-256 certificate made at start")
			prof := fs.String("cpuprofile", "", "write a CPU profile of the server to `file`")
			memProf := fs.String("memprofile", "", "write an allocation profile of the server to `file` as it stops")
			_ = fs.Parse(os.Args[2:])
			if *prof != "" {
				f, err := os.Create(*prof)
				exit(err)
				exit(pprof.StartCPUProfile(f))
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
			if *memProf != "" {
				defer func() { exit(writeAllocs(*memProf)) }()
			}
			err := serverMain(*impl, *mode, *addr, *useTLS)
			if err != nil {
				pprof.StopCPUProfile()
			}
			exit(err)
			return
		case "client":
			fs := flag.NewFlagSet("client", flag.ExitOnError)
			var cfg clientConfig
			fs.StringVar(&cfg.impl, "impl", implGoNet, "gonet (blocking net.Conn), actornet or actornet-uring (tcp.Client futures on epoll or io_uring)")
			fs.StringVar(&cfg.mode, "mode", "pingpong", "pingpong, bulk, udp, idle or handshake (TLS: connect, handshake, one echo, close)")
			fs.StringVar(&cfg.addr, "addr", "", "server address")
			fs.IntVar(&cfg.conns, "conns", 1, "connections (or UDP peers, or parallel handshakes)")
			fs.BoolVar(&cfg.tls, "tls", false, "TLS clients (crypto/tls, no verification, no session resumption)")
			fs.BoolVar(&cfg.echoOnce, "echo-once", false, "idle: echo one -size message on each connection before idling")
			fs.IntVar(&cfg.size, "size", 64, "payload bytes")
			fs.DurationVar(&cfg.warmup, "warmup", 200*time.Millisecond, "load before the window")
			fs.DurationVar(&cfg.duration, "duration", time.Second, "the measured window")
			prof := fs.String("cpuprofile", "", "write a CPU profile of the client to `file`")
			_ = fs.Parse(os.Args[2:])
			if *prof != "" {
				f, err := os.Create(*prof)
				exit(err)
				exit(pprof.StartCPUProfile(f))
			}
			err := clientMain(cfg)
			pprof.StopCPUProfile()
			exit(err)
			return
		}
	}
	var o runOptions
	flag.StringVar(&o.tables, "tables", defaultTables, "tables to run (a subset skips the README update): "+allTables+"; tls selects "+tlsTables)
	flag.StringVar(&o.conns, "conns", defaultConns, "connection counts of the ping-pong tables")
	flag.StringVar(&o.sizes, "sizes", defaultSizes, "payload sizes of the ping-pong tables")
	flag.BoolVar(&o.quick, "quick", false, "one repeat of a few cells, to try the harness")
	flag.IntVar(&o.repeats, "repeats", 5, "repeats per cell (medians are reported)")
	flag.DurationVar(&o.window, "window", time.Second, "measured window per run")
	flag.StringVar(&o.out, "out", "results", "directory for RESULTS.md and the SVG chart")
	flag.Float64Var(&o.maxOther, "max-other", 0, "retry a run (up to 5 times) in which other processes took more than this share (0..1) of the server's core; 0: never")
	flag.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of each run's server into `dir` (run-N-table-server-cC-SIZE.pprof)")
	srvList := flag.String("servers", strings.Join(servers, ","), "servers of the plain TCP and UDP tables (Go net, the baseline, is always run)")
	flag.StringVar(&o.readme, "readme", "../../README.md", "README whose bench table (between markers) is replaced; empty: none")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run . [flags]          the benchmark matrix\n       go run . server|client -h    one process of it\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	exit(setServers(*srvList))
	exit(runMatrix(o))
}

func exit(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// writeAllocs writes the allocation profile (every allocation since the
// start, sampled as runtime.MemProfileRate says) to path.
func writeAllocs(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("memprofile: %w", err)
	}
	return f.Close()
}
