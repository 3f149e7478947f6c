package main

// What the harness reads of its processes and of the machine in /proc.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuNS is a process's CPU time so far: the sum of its threads'
// schedstat run times, in nanoseconds.
func cpuNS(pid int) float64 {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum float64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			v, _ := strconv.ParseFloat(f[0], 64)
			sum += v
		}
	}
	return sum
}

// coreBusyNS is the time CPU cpu (a number, as taskset takes it) has
// been busy since boot, from /proc/stat (in clock ticks, so to 10 ms).
func coreBusyNS(cpu string) float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 9 || f[0] != "cpu"+cpu {
			continue
		}
		var busy float64
		for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
			v, _ := strconv.ParseFloat(f[i], 64)
			busy += v
		}
		return busy * 1e9 / 100 // USER_HZ is 100 on Linux
	}
	return 0
}

// otherLoad is the share of a window that the server's core spent on
// processes other than the server (and the client, when it shares the
// core): what other work on the machine took from the run.
func otherLoad(busy, srv, cli float64, sameCore bool, window time.Duration) float64 {
	if window <= 0 {
		return 0
	}
	if sameCore {
		srv += cli
	}
	return max(0, busy-srv) / float64(window.Nanoseconds())
}

// rssKiB is a process's resident set size.
func rssKiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, _ := strconv.ParseFloat(f[0], 64)
				return v
			}
		}
	}
	return 0
}

// openFDs counts a process's open file descriptors.
func openFDs(pid int) int {
	entries, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(entries)
}
