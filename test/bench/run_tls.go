package main

import "strings"

// The TLS tables (-tables tls selects them all; not in the default
// matrix): echo, full handshakes, idle connections. Their cells are
// fixed: TLS echo at tlsConns × tlsSizes, handshakes with tlsParallel
// clients at once, tlsIdleConns idle connections.
const (
	tlsTables = "tls-echo,tls-handshake,tls-idle"
	allTables = defaultTables + "," + tlsTables
)

var (
	tlsConns     = []int{1, 100, 1000}
	tlsSizes     = []int{64, 4096}
	tlsParallel  = []int{1, 32}
	tlsIdleConns = 2000
)

// planTLS lists the runs of the TLS tables; -quick runs one small cell of
// each.
func planTLS(o runOptions, want map[string]bool, rotOf func([]string, int) []string) []spec {
	if want["tls"] {
		for _, t := range strings.Split(tlsTables, ",") {
			want[t] = true
		}
	}
	conns, sizes, par, idleConns := tlsConns, tlsSizes, tlsParallel, tlsIdleConns
	if o.quick {
		conns, sizes, par, idleConns = []int{10}, []int{64}, []int{4}, 100
		for _, t := range strings.Split(tlsTables, ",") {
			want[t] = true
		}
	}
	var runs []spec
	if want["tls-echo"] {
		for _, c := range conns {
			for _, size := range sizes {
				for rep := range o.repeats {
					for _, srv := range rotOf(tlsServers, rep) {
						runs = append(runs, spec{table: "tls-echo", server: srv, client: implGoNet, mode: modeEcho, conns: c, size: size, tls: true})
					}
				}
			}
		}
	}
	if want["tls-handshake"] {
		for _, p := range par {
			for rep := range o.repeats {
				for _, srv := range rotOf(tlsServers, rep) {
					runs = append(runs, spec{table: "tls-handshake", server: srv, client: implGoNet, mode: modeEcho, conns: p, size: 64, tls: true})
				}
			}
		}
	}
	if want["tls-idle"] {
		for rep := range o.repeats {
			for _, srv := range rotOf(tlsServers, rep) {
				runs = append(runs, spec{table: "tls-idle", server: srv, mode: modeEcho, conns: idleConns, tls: true})
			}
			for _, srv := range tlsPlainRefs {
				runs = append(runs, spec{table: "tls-idle", server: srv, mode: modeEcho, conns: idleConns})
			}
		}
	}
	return runs
}

// tlsPlainRefs are the servers whose plain TCP connections the idle TLS
// table shows for reference.
var tlsPlainRefs = []string{implActornet, implGoNet}
