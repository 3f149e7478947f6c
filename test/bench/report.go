package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// report turns the samples into Markdown tables and an SVG chart.
type report struct {
	res  map[spec][]sample
	o    runOptions
	took time.Duration
}

func newReport(res map[spec][]sample, o runOptions, took time.Duration) *report {
	return &report{res: res, o: o, took: took}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// med is the median of one field over a spec's samples.
func (r *report) med(s spec, f func(sample) float64) float64 {
	xs := make([]float64, 0, len(r.res[s]))
	for _, smp := range r.res[s] {
		xs = append(xs, f(smp))
	}
	return median(xs)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// cells returns the (conns, size) cells of a table, in order.
func (r *report) cells(table string) [][2]int {
	var out [][2]int
	for s := range r.res {
		if s.table == table && s.server == implGoNet {
			out = append(out, [2]int{s.conns, s.size})
		}
	}
	slices.SortFunc(out, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	return out
}

func (r *report) pingPongTable(b *strings.Builder, table string) {
	fmt.Fprintln(b, "| conns | payload | server | round trips/s | vs Go net | p50 µs | p99 µs | server CPU s / 100k | vs Go net | server RSS MB |")
	fmt.Fprintln(b, "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, cell := range r.cells(table) {
		base := spec{table: table, server: implGoNet, client: implGoNet, mode: modeEcho, conns: cell[0], size: cell[1]}
		baseRate := r.med(base, func(s sample) float64 { return s.rate })
		baseCPU := r.med(base, func(s sample) float64 { return s.srvCPU })
		for _, srv := range servers {
			s := base
			s.server = srv
			rate := r.med(s, func(s sample) float64 { return s.rate })
			cpu := r.med(s, func(s sample) float64 { return s.srvCPU })
			name := srv
			if srv == implActornet || srv == implActornetURing {
				name = "**" + srv + "**"
			}
			fmt.Fprintf(b, "| %d | %d B | %s | %.0f | %s | %.0f | %.0f | %.3f | %s | %.1f |\n",
				cell[0], cell[1], name, rate, ratio(rate, baseRate),
				r.med(s, func(s sample) float64 { return s.p50 }), r.med(s, func(s sample) float64 { return s.p99 }),
				cpu, ratio(cpu, baseCPU), r.med(s, func(s sample) float64 { return s.rssMB }))
		}
	}
}

// simpleTable is one row per server: the rate (divided by scale, in
// unit) and the server CPU per cpuPer operations.
func (r *report) simpleTable(b *strings.Builder, unit string, scale float64, cpuLabel string, cpuPer float64, s0 spec) {
	fmt.Fprintf(b, "| server | %s | vs Go net | server CPU s / %s | vs Go net |\n|---|---:|---:|---:|---:|\n", unit, cpuLabel)
	base := s0
	base.server = implGoNet
	baseRate := r.med(base, func(s sample) float64 { return s.rate })
	baseCPU := r.med(base, func(s sample) float64 { return s.srvCPU })
	for _, srv := range servers {
		s := s0
		s.server = srv
		rate := r.med(s, func(s sample) float64 { return s.rate })
		cpu := r.med(s, func(s sample) float64 { return s.srvCPU })
		fmt.Fprintf(b, "| %s | %.0f | %s | %.3f | %s |\n", srv, rate/scale, ratio(rate, baseRate), cpu*cpuPer/1e5, ratio(cpu, baseCPU))
	}
}

// markdown renders every table.
func (r *report) markdown() string {
	var b strings.Builder
	reps := r.o.repeats
	fmt.Fprintf(&b, "Echo servers on loopback, one load generator (Go net blocking clients, a goroutine per connection); "+
		"medians of %d alternating repeats, %v windows; server CPU from /proc schedstat inside the window. "+
		"Run on %s in %v: `cd test/bench && go run .`\n\n", reps, r.o.window, time.Now().UTC().Format("2006-01-02"), r.took.Round(time.Second))
	if r.has("pinned") {
		fmt.Fprintln(&b, "### Ping-pong, server and client on the same core (taskset -c 0)")
		fmt.Fprintln(&b)
		r.pingPongTable(&b, "pinned")
	}
	if r.has("cross") {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, "### Ping-pong, server on core 0, client on core 1")
		fmt.Fprintln(&b)
		r.pingPongTable(&b, "cross")
	}
	if r.has("bulk") {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, "### Bulk one way (one connection, 64 KiB writes, same core)")
		fmt.Fprintln(&b)
		r.simpleTable(&b, "MB/s", 1e6, "GB", 1e9, spec{table: "bulk", client: implGoNet, mode: modeSink, conns: 1, size: 64 << 10})
	}
	if r.has("udp") {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, "### UDP echo (100 ping-pong peers, 64 B, same core)")
		fmt.Fprintln(&b)
		r.simpleTable(&b, "datagrams/s", 1, "100k datagrams", 1e5, spec{table: "udp", client: implGoNet, mode: modeUDP, conns: 100, size: 64})
	}
	if r.has("idle") {
		r.idleTable(&b)
	}
	if r.has("client") {
		r.clientTable(&b)
	}
	r.tlsMarkdown(&b)
	return b.String()
}

// has reports whether the run measured table.
func (r *report) has(table string) bool {
	for s := range r.res {
		if s.table == table {
			return true
		}
	}
	return false
}

func (r *report) idleTable(b *strings.Builder) {
	fmt.Fprintln(b)
	fmt.Fprintln(b, "### Idle connections: server RSS growth per connection")
	fmt.Fprintln(b)
	fmt.Fprintln(b, "| server | connections | KiB per connection | vs Go net |\n|---|---:|---:|---:|")
	var idle spec
	for s := range r.res {
		if s.table == "idle" {
			idle = s
		}
	}
	base := idle
	base.server = implGoNet
	baseKiB := r.med(base, func(s sample) float64 { return s.perKiB })
	for _, srv := range servers {
		s := idle
		s.server = srv
		k := r.med(s, func(s sample) float64 { return s.perKiB })
		fmt.Fprintf(b, "| %s | %d | %.1f | %s |\n", srv, s.conns, k, ratio(k, baseKiB))
	}
}

func (r *report) clientTable(b *strings.Builder) {
	fmt.Fprintln(b)
	fmt.Fprintln(b, "### Client side: actornet client futures vs Go net blocking client (Go net echo server, 64 B, same core)")
	fmt.Fprintln(b)
	fmt.Fprintln(b, "| conns | client | round trips/s | vs Go net | client CPU s / 100k | vs Go net |\n|---:|---|---:|---:|---:|---:|")
	for _, c := range []int{1, 100} {
		base := spec{table: "client", server: implGoNet, client: implGoNet, mode: modeEcho, conns: c, size: 64}
		bRate := r.med(base, func(s sample) float64 { return s.rate })
		bCPU := r.med(base, func(s sample) float64 { return s.cliCPU })
		for _, cl := range clients {
			s := base
			s.client = cl
			rate := r.med(s, func(s sample) float64 { return s.rate })
			cpu := r.med(s, func(s sample) float64 { return s.cliCPU })
			fmt.Fprintf(b, "| %d | %s | %.0f | %s | %.3f | %s |\n", c, cl, rate, ratio(rate, bRate), cpu, ratio(cpu, bCPU))
		}
	}
}

// svg draws the same-core ping-pong round trips/s of each server, as a
// ratio to Go net, per cell.
func (r *report) svg() string {
	cells := r.cells("pinned")
	const barW, gap, h, top, left = 14, 18, 260, 30, 50
	groupW := len(servers)*barW + gap
	width := left + len(cells)*groupW + 140
	colors := map[string]string{implActornet: "#d9480f", implActornetURing: "#f59f00", implGoNet: "#1c7ed6", implGnet: "#2f9e44"}
	maxRatio := 1.5
	type bar struct {
		x     int
		ratio float64
		srv   string
	}
	var bars []bar
	for i, cell := range cells {
		base := spec{table: "pinned", server: implGoNet, client: implGoNet, mode: modeEcho, conns: cell[0], size: cell[1]}
		bRate := r.med(base, func(s sample) float64 { return s.rate })
		for j, srv := range servers {
			s := base
			s.server = srv
			rt := r.med(s, func(s sample) float64 { return s.rate }) / bRate
			maxRatio = max(maxRatio, rt)
			bars = append(bars, bar{x: left + i*groupW + j*barW, ratio: rt, srv: srv})
		}
	}
	y := func(v float64) float64 { return top + h - v/maxRatio*h }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", width, top+h+60)
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="13">Ping-pong round trips/s relative to Go net (same core, medians)</text>`+"\n", left)
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#888" stroke-dasharray="4 3"/>`+"\n", left, y(1), width-140, y(1))
	fmt.Fprintf(&b, `<text x="4" y="%.1f">1.0×</text>`+"\n", y(1)+4)
	for _, br := range bars {
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"><title>%s %.2f×</title></rect>`+"\n",
			br.x, y(br.ratio), barW-2, float64(top+h)-y(br.ratio), colors[br.srv], br.srv, br.ratio)
	}
	for i, cell := range cells {
		fmt.Fprintf(&b, `<text x="%d" y="%d">c=%d</text><text x="%d" y="%d">%dB</text>`+"\n",
			left+i*groupW, top+h+16, cell[0], left+i*groupW, top+h+30, cell[1])
	}
	for j, srv := range servers {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			width-130, top+j*18, colors[srv], width-115, top+j*18+9, srv)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// write saves RESULTS.md and the chart, and replaces the README's table.
func (r *report) write() error {
	if err := os.MkdirAll(r.o.out, 0o755); err != nil {
		return err
	}
	md := r.markdown()
	doc := "# actornet benchmark results\n\n![ping-pong ratios](pingpong.svg)\n\n" + md
	if err := os.WriteFile(filepath.Join(r.o.out, "RESULTS.md"), []byte(doc), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r.o.out, "pingpong.svg"), []byte(r.svg()), 0o644); err != nil {
		return err
	}
	fmt.Println()
	fmt.Print(md)
	if r.o.readme == "" || r.o.quick {
		return nil
	}
	return replaceBetween(r.o.readme, "<!-- bench:begin -->", "<!-- bench:end -->", md)
}

// replaceBetween replaces the text between two marker lines of a file.
func replaceBetween(path, begin, end, body string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s: markers %s … %s not found", path, begin, end)
	}
	s = s[:i+len(begin)] + "\n" + body + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
