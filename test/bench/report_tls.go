package main

import (
	"fmt"
	"slices"
	"strings"
)

// tlsMarkdown renders the TLS tables the run measured.
func (r *report) tlsMarkdown(b *strings.Builder) {
	if !r.has("tls-echo") && !r.has("tls-handshake") && !r.has("tls-idle") {
		return
	}
	fmt.Fprintln(b)
	fmt.Fprintf(b, "### TLS\n\n"+
		"Servers: actornet (tcp.Serve with tcp.WithTLS, the same echo handler; actornet-uring: the same on the io_uring backend), Go net (crypto/tls's tls.NewListener, "+
		"a goroutine per connection, io.Copy) and nbio %s (its non-blocking llib TLS through extension/tls, one poller), "+
		"each with its library's defaults and one ECDSA P-256 certificate made at start. "+
		"Clients: crypto/tls, no certificate verification, no session cache (every handshake is a full one); "+
		"negotiated: %s. Server and client on the same core (taskset -c 0); %s. "+
		"`cd test/bench && go run . -tables tls`\n", nbioVersion, r.negotiated(), r.otherLoad())
	if r.has("tls-echo") {
		fmt.Fprintln(b)
		fmt.Fprintln(b, "#### TLS echo (ping-pong)")
		fmt.Fprintln(b)
		r.tlsRateTable(b, "tls-echo", "conns", "round trips/s", "round trip", true)
	}
	if r.has("tls-handshake") {
		fmt.Fprintln(b)
		fmt.Fprintln(b, "#### Full TLS handshakes: connect, handshake, one 64 B echo, close (clients in parallel)")
		fmt.Fprintln(b)
		r.tlsRateTable(b, "tls-handshake", "parallel", "handshakes/s", "handshake", false)
	}
	if r.has("tls-idle") {
		r.tlsIdleTable(b)
	}
}

// nbioVersion is the nbio the TLS tables measure (test/bench/go.mod).
const nbioVersion = "v1.6.8"

// negotiated is what the TLS clients reported they negotiated, each
// distinct value once.
func (r *report) negotiated() string {
	var seen []string
	for s, smps := range r.res {
		if !s.tls {
			continue
		}
		for _, smp := range smps {
			if smp.tls != "" && !slices.Contains(seen, smp.tls) {
				seen = append(seen, smp.tls)
			}
		}
	}
	slices.Sort(seen)
	if len(seen) == 0 {
		return "not reported"
	}
	return strings.Join(seen, "; ")
}

// otherLoad says how much of the core other processes took during the
// TLS runs' windows: a busy machine makes the tables noisy.
func (r *report) otherLoad() string {
	var xs []float64
	for s, smps := range r.res {
		if s.tls && s.table != "tls-idle" {
			for _, smp := range smps {
				xs = append(xs, smp.other)
			}
		}
	}
	if len(xs) == 0 {
		return "other processes' share of the core not measured"
	}
	return fmt.Sprintf("other processes took a median %.0f%% (at most %.0f%%) of the core during the windows", 100*median(xs), 100*slices.Max(xs))
}

// tlsRateTable is one row per TLS server and cell: the rate, its ratio to
// Go net, latency, and server CPU per operation in µs.
func (r *report) tlsRateTable(b *strings.Builder, table, connsLabel, unit, op string, sized bool) {
	payload, payloadSep := "", ""
	if sized {
		payload, payloadSep = " payload |", "---:|"
	}
	fmt.Fprintf(b, "| %s |%s server | %s | vs Go net | p50 µs | p99 µs | server CPU µs / %s | vs Go net | server RSS MB | errors |\n", connsLabel, payload, unit, op)
	fmt.Fprintf(b, "|---:|%s---|---:|---:|---:|---:|---:|---:|---:|---:|\n", payloadSep)
	for _, cell := range r.cells(table) {
		base := spec{table: table, server: implGoNet, client: implGoNet, mode: modeEcho, conns: cell[0], size: cell[1], tls: true}
		baseRate := r.med(base, func(s sample) float64 { return s.rate })
		baseCPU := r.med(base, func(s sample) float64 { return s.srvCPU })
		for _, srv := range tlsServers {
			s := base
			s.server = srv
			if len(r.res[s]) == 0 {
				continue
			}
			rate := r.med(s, func(s sample) float64 { return s.rate })
			cpu := r.med(s, func(s sample) float64 { return s.srvCPU })
			var errs uint64
			for _, smp := range r.res[s] {
				errs += smp.errors
			}
			name := srv
			if srv == implActornet || srv == implActornetURing {
				name = "**" + srv + "**"
			}
			size := ""
			if sized {
				size = fmt.Sprintf(" %d B |", cell[1])
			}
			// srvCPU is seconds per 100k operations: ×10 is µs per operation.
			fmt.Fprintf(b, "| %d |%s %s | %.0f | %s | %.0f | %.0f | %.1f | %s | %.1f | %d |\n",
				cell[0], size, name, rate, ratio(rate, baseRate),
				r.med(s, func(s sample) float64 { return s.p50 }), r.med(s, func(s sample) float64 { return s.p99 }),
				cpu*10, ratio(cpu, baseCPU), r.med(s, func(s sample) float64 { return s.rssMB }), errs)
		}
	}
}

// tlsIdleTable is the server's RSS growth per idle connection: TLS for
// every server, plain TCP for reference.
func (r *report) tlsIdleTable(b *strings.Builder) {
	fmt.Fprintln(b)
	fmt.Fprintln(b, "#### Idle TLS connections: server RSS growth per connection (after the handshake and one 64 B echo)")
	fmt.Fprintln(b)
	fmt.Fprintln(b, "| server | transport | connections | KiB per connection | vs Go net TLS |\n|---|---|---:|---:|---:|")
	var idle spec
	for s := range r.res {
		if s.table == "tls-idle" {
			idle = s
		}
	}
	base := idle
	base.server, base.tls = implGoNet, true
	baseKiB := r.med(base, func(s sample) float64 { return s.perKiB })
	row := func(srv string, useTLS bool) {
		s := idle
		s.server, s.tls = srv, useTLS
		if len(r.res[s]) == 0 {
			return
		}
		k := r.med(s, func(s sample) float64 { return s.perKiB })
		transport := "TCP"
		if useTLS {
			transport = "TLS"
		}
		fmt.Fprintf(b, "| %s | %s | %d | %.1f | %s |\n", srv, transport, s.conns, k, ratio(k, baseKiB))
	}
	for _, srv := range tlsServers {
		row(srv, true)
	}
	for _, srv := range tlsPlainRefs {
		row(srv, false)
	}
}
