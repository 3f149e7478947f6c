package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"
)

// measure has the client on the room's node say n lines, one at a time,
// and reports how long each took to reach each client: the client on
// the same node (client, member, room and the other member all on one
// node: fan-out within one node) and the clients on the other nodes
// (member to room local, room to member across nodes), as p50 and p99.
func measure(ctx context.Context, out io.Writer, clients []*client, nodes []*node, host string, n int) error {
	var sender int
	for i, nd := range nodes {
		if nd.addr == host {
			sender = i
		}
	}
	var local, remote []time.Duration
	for k := range n {
		sent := time.Now()
		if err := clients[sender].say("m", k, k+1); err != nil {
			return err
		}
		want := fmt.Sprintf("%s: m %d", clients[sender].name, k)
		for i, c := range clients {
			l, err := c.next(ctx, "")
			if err != nil {
				return err
			}
			if l.text != want {
				return fmt.Errorf("measure: client %d heard %q, want %q", i, l.text, want)
			}
			if i == sender {
				local = append(local, l.at.Sub(sent))
			} else {
				remote = append(remote, l.at.Sub(sent))
			}
		}
	}
	fmt.Fprintf(out, "fan-out latency, %d lines (client write to each client's read): within one node p50 %v p99 %v; across nodes p50 %v p99 %v\n",
		n, pct(local, 50), pct(local, 99), pct(remote, 50), pct(remote, 99))
	return nil
}

// pct returns the p-th percentile of ds (nearest rank).
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p+99)/100 - 1
	return s[max(i, 0)].Round(time.Microsecond)
}
