package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

type runOptions struct {
	tables  string // comma-separated tables to run
	conns   string // comma-separated connection counts (ping-pong tables)
	sizes   string // comma-separated payload sizes (ping-pong tables)
	quick   bool
	repeats int
	window  time.Duration
	out     string
	readme  string
	profile string // directory for the servers' CPU profiles; empty: none
	// maxOther, when above 0, retries (up to busyRetries times) a run in
	// which other processes took more than this share of the server's core.
	maxOther float64
}

// busyRetries is how often a run is retried on a busy machine (maxOther).
const busyRetries = 5

// spec is one measured run.
type spec struct {
	table  string // "pinned", "cross", "bulk", "udp", "idle", "client", "tls-echo", "tls-handshake", "tls-idle"
	server string // actornet, gonet, gnet, nbio
	client string // gonet or actornet
	mode   string // server mode: echo, sink, udp
	conns  int    // connections, or parallel handshakes
	size   int
	tls    bool // server and client speak TLS
}

// sample is what one run measured.
type sample struct {
	rate   float64 // ops per second (round trips, bytes, datagrams)
	p50    float64 // µs
	p99    float64 // µs
	srvCPU float64 // server CPU seconds per 100k ops
	cliCPU float64 // client CPU seconds per 100k ops
	rssMB  float64 // server RSS at the window's end
	perKiB float64 // idle: server RSS per connection, KiB
	errors uint64
	tls    string  // what TLS negotiated (clientResult.TLS)
	other  float64 // share of the server's core that other processes used in the window
}

// servers are the plain-TCP and UDP servers of the matrix (-servers):
// Go net, the baseline, always among them.
var servers = []string{implActornet, implActornetURing, implGoNet, implGnet}

// clients are the client table's load generators (Go net's the baseline).
var clients = []string{implGoNet, implActornet, implActornetURing}

// setServers parses -servers.
func setServers(list string) error {
	var out []string
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		switch f {
		case implActornet, implActornetURing, implGoNet, implGnet:
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		case "":
		default:
			return fmt.Errorf("-servers: unknown server %q (want %s, %s, %s, %s)", f, implActornet, implActornetURing, implGoNet, implGnet)
		}
	}
	if !slices.Contains(out, implGoNet) {
		out = append(out, implGoNet) // every ratio is to Go net
	}
	servers = out
	return nil
}

// The whole matrix.
const (
	defaultTables = "pinned,cross,bulk,udp,idle,client"
	defaultConns  = "1,100,1000,9000"
	defaultSizes  = "64,4096"
)

// proc is a harness child process: a server or a client.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr bytes.Buffer
	done   chan error
}

// startProc runs this binary with args, pinned to cpus with taskset.
func startProc(cpus string, args ...string) (*proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	p := &proc{lines: make(chan string, 16), done: make(chan error, 1)}
	p.cmd = exec.Command("taskset", append([]string{"-c", cpus, exe}, args...)...)
	p.cmd.Stderr = &p.stderr
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.done <- p.cmd.Wait()
	}()
	return p, nil
}

// expect waits for a line with prefix and returns the rest of it.
func (p *proc) expect(prefix string, timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				return "", fmt.Errorf("%s exited before %q: %s", p.cmd.Args[3:], prefix, strings.TrimSpace(p.stderr.String()))
			}
			if rest, found := strings.CutPrefix(l, prefix); found {
				return strings.TrimSpace(rest), nil
			}
		case <-t.C:
			return "", fmt.Errorf("%s: no %q within %v", p.cmd.Args[3:], prefix, timeout)
		}
	}
}

// stop closes the process's stdin and waits for it (killing it after 10 s).
func (p *proc) stop() {
	p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// measure runs one spec, the run-th of the plan: a server, a client,
// one window.
func measure(s spec, o runOptions, run int) (sample, error) {
	srvCPUs, cliCPUs := "0", "0"
	if s.table == "cross" {
		cliCPUs = "1"
	}
	args := []string{"server", "-impl", s.server, "-mode", s.mode, "-addr", "127.0.0.1:0"}
	if s.tls {
		args = append(args, "-tls")
	}
	if o.profile != "" {
		name := fmt.Sprintf("run-%03d-%s-%s-c%d-%d.pprof", run, s.table, s.server, s.conns, s.size)
		if s.table == "tls-idle" && !s.tls {
			name = strings.Replace(name, s.server, s.server+"-plain", 1)
		}
		args = append(args, "-cpuprofile", filepath.Join(o.profile, name))
	}
	srv, err := startProc(srvCPUs, args...)
	if err != nil {
		return sample{}, err
	}
	defer srv.stop()
	addr, err := srv.expect("READY ", 10*time.Second)
	if err != nil {
		return sample{}, err
	}
	pid := srv.cmd.Process.Pid
	if s.table == "idle" || s.table == "tls-idle" {
		return measureIdle(s, srv, addr)
	}
	mode := "pingpong"
	switch {
	case s.mode == modeSink:
		mode = "bulk"
	case s.mode == modeUDP:
		mode = "udp"
	case s.table == "tls-handshake":
		mode = "handshake"
	}
	cargs := []string{"client", "-impl", s.client, "-mode", mode, "-addr", addr,
		"-conns", strconv.Itoa(s.conns), "-size", strconv.Itoa(s.size), "-duration", o.window.String()}
	if s.tls {
		cargs = append(cargs, "-tls")
	}
	cli, err := startProc(cliCPUs, cargs...)
	if err != nil {
		return sample{}, err
	}
	defer cli.stop()
	if _, err := cli.expect("START", 60*time.Second); err != nil {
		return sample{}, err
	}
	s0, c0, b0, t0 := cpuNS(pid), cpuNS(cli.cmd.Process.Pid), coreBusyNS(srvCPUs), time.Now()
	if _, err := cli.expect("END", o.window+30*time.Second); err != nil {
		return sample{}, err
	}
	s1, c1, rss := cpuNS(pid), cpuNS(cli.cmd.Process.Pid), rssKiB(pid)
	b1, t1 := coreBusyNS(srvCPUs), time.Now()
	js, err := cli.expect("{", 30*time.Second)
	if err != nil {
		return sample{}, err
	}
	var r clientResult
	if err := json.Unmarshal([]byte("{"+js), &r); err != nil {
		return sample{}, err
	}
	if r.Ops == 0 {
		return sample{}, fmt.Errorf("%s %s c=%d: no operations (errors %d)", s.server, s.mode, s.conns, r.Errors)
	}
	per100k := 1e5 / float64(r.Ops) / 1e9
	return sample{
		rate: float64(r.Ops) / r.Secs, p50: r.P50, p99: r.P99,
		srvCPU: (s1 - s0) * per100k, cliCPU: (c1 - c0) * per100k,
		rssMB: rss / 1024, errors: r.Errors, tls: r.TLS,
		other: otherLoad(b1-b0, s1-s0, c1-c0, cliCPUs == srvCPUs, t1.Sub(t0)),
	}, nil
}

// measureIdle opens s.conns idle connections and reports the server's RSS
// growth per connection once it has accepted them all. In the TLS table
// (plain rows included, for reference) each connection first echoes one
// 64 B message: the server has completed the handshake and holds what a
// connection that has carried data holds.
func measureIdle(s spec, srv *proc, addr string) (sample, error) {
	pid := srv.cmd.Process.Pid
	base, baseFDs := rssKiB(pid), openFDs(pid)
	args := []string{"client", "-mode", "idle", "-addr", addr, "-conns", strconv.Itoa(s.conns)}
	if s.table == "tls-idle" {
		args = append(args, "-echo-once", "-size", "64")
	}
	if s.tls {
		args = append(args, "-tls")
	}
	cli, err := startProc("0", args...)
	if err != nil {
		return sample{}, err
	}
	defer cli.stop()
	if _, err := cli.expect("START", 60*time.Second); err != nil {
		return sample{}, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for openFDs(pid) < baseFDs+s.conns {
		if time.Now().After(deadline) {
			return sample{}, fmt.Errorf("%s accepted %d of %d idle connections", s.server, openFDs(pid)-baseFDs, s.conns)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // let per-connection setup finish
	grown := rssKiB(pid) - base
	return sample{perKiB: grown / float64(s.conns), rssMB: rssKiB(pid) / 1024}, nil
}

// plan lists the runs of the matrix, repeats alternating the servers.
func plan(o runOptions) []spec {
	conns, sizes := ints(o.conns), ints(o.sizes)
	want := map[string]bool{}
	for _, t := range strings.Split(o.tables, ",") {
		want[strings.TrimSpace(t)] = true
	}
	var tables []string
	for _, t := range []string{"pinned", "cross"} {
		if want[t] {
			tables = append(tables, t)
		}
	}
	if o.quick {
		conns, sizes, tables = []int{1, 100}, []int{64}, []string{"pinned"}
	}
	var runs []spec
	rotOf := func(list []string, rep int) []string {
		out := make([]string, len(list))
		for i := range list {
			out[i] = list[(i+rep)%len(list)]
		}
		return out
	}
	rot := func(rep int) []string { return rotOf(servers, rep) }
	for _, table := range tables {
		for _, c := range conns {
			for _, size := range sizes {
				for rep := range o.repeats {
					for _, srv := range rot(rep) {
						runs = append(runs, spec{table: table, server: srv, client: implGoNet, mode: modeEcho, conns: c, size: size})
					}
				}
			}
		}
	}
	for rep := range o.repeats {
		for _, srv := range rot(rep) {
			if want["bulk"] || o.quick {
				runs = append(runs, spec{table: "bulk", server: srv, client: implGoNet, mode: modeSink, conns: 1, size: 64 << 10})
			}
			if want["udp"] || o.quick {
				runs = append(runs, spec{table: "udp", server: srv, client: implGoNet, mode: modeUDP, conns: 100, size: 64})
			}
		}
		if want["client"] || o.quick {
			for _, c := range []int{1, 100} {
				for _, cl := range clients {
					runs = append(runs, spec{table: "client", server: implGoNet, client: cl, mode: modeEcho, conns: c, size: 64})
				}
			}
		}
	}
	idleConns := 9000
	if o.quick {
		idleConns = 1000
	}
	if want["idle"] || o.quick {
		for _, srv := range servers {
			runs = append(runs, spec{table: "idle", server: srv, mode: modeEcho, conns: idleConns})
		}
	}
	return append(runs, planTLS(o, want, rotOf)...)
}

// ints parses a comma-separated list of positive integers.
func ints(list string) []int {
	var out []int
	for _, f := range strings.Split(list, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// runMatrix runs the plan, prints progress, and writes the results.
func runMatrix(o runOptions) error {
	if o.quick {
		o.repeats = 1
	}
	partial := o.tables != defaultTables || o.conns != defaultConns || o.sizes != defaultSizes
	if partial {
		o.readme = "" // the README shows whole runs only
	}
	if o.repeats < 1 || o.window <= 0 {
		return errors.New("-repeats and -window must be positive")
	}
	known := strings.Split(allTables+",tls", ",")
	for _, t := range strings.Split(o.tables, ",") {
		if !slices.Contains(known, strings.TrimSpace(t)) {
			return fmt.Errorf("-tables: unknown table %q (known: %s, tls)", t, allTables)
		}
	}
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return err
		}
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return fmt.Errorf("taskset (util-linux) is needed: %w", err)
	}
	runs := plan(o)
	results := make(map[spec][]sample)
	start := time.Now()
	for i, s := range runs {
		smp, err := measure(s, o, i+1)
		for try := 0; err == nil && o.maxOther > 0 && smp.other > o.maxOther && try < busyRetries; try++ {
			fmt.Printf("[%3d/%d] other processes took %.0f%% of the core: again\n", i+1, len(runs), 100*smp.other)
			time.Sleep(time.Second)
			smp, err = measure(s, o, i+1)
		}
		if err != nil {
			return fmt.Errorf("run %d (%+v): %w", i+1, s, err)
		}
		results[s] = append(results[s], smp)
		eta := time.Duration(float64(time.Since(start)) / float64(i+1) * float64(len(runs)-i-1)).Round(time.Second)
		name := s.server
		if s.table == "tls-idle" && !s.tls {
			name += "/tcp"
		}
		fmt.Printf("[%3d/%d] %-6s %-8s c=%-4d %5dB client=%-8s %s  (eta %v)\n",
			i+1, len(runs), s.table, name, s.conns, s.size, s.client, smp.brief(s), eta)
	}
	rep := newReport(results, o, time.Since(start))
	return rep.write()
}

func (s sample) brief(sp spec) string {
	switch sp.table {
	case "idle", "tls-idle":
		return fmt.Sprintf("%.1f KiB/conn", s.perKiB)
	case "bulk":
		return fmt.Sprintf("%.0f MB/s", s.rate/1e6)
	}
	return fmt.Sprintf("%.0f/s p50 %.0fµs p99 %.0fµs srv %.2fs/100k other %.0f%%", s.rate, s.p50, s.p99, s.srvCPU, 100*s.other)
}
