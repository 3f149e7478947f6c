//go:build race && (linux || darwin || freebsd)

package leakcheck

import (
	"os"
	"strings"
	"syscall"
)

// quickRaceExit makes this test process exit at once when built with the
// race detector. By default the race runtime's exit sleeps a second
// (GORACE's atexit_sleep_ms) to let other threads finish and report their
// races; here Main has already waited for the tests' goroutines to end
// (and failed the run on any left), so the sleep only costs a second per
// test binary, and per test binary that tests start as children (they run
// Main too). A race found still prints and fails the run. GORACE is read
// when the process starts, so the process runs itself again with the
// setting (execve: the same pid, arguments and files), and then gives the
// variable back its first value: the processes it starts that do not run
// Main (an example's nodes, say), and so do not wait for their goroutines,
// keep the sleep. A GORACE that already names atexit_sleep_ms is left
// alone.
func quickRaceExit() {
	if first, ok := os.LookupEnv(firstGORACE); ok { // run again: restore
		os.Unsetenv(firstGORACE)
		if v, set := strings.CutPrefix(first, "="); set {
			os.Setenv("GORACE", v)
		} else {
			os.Unsetenv("GORACE")
		}
		return
	}
	v, set := os.LookupEnv("GORACE")
	if strings.Contains(v, "atexit_sleep_ms") {
		return
	}
	first := ""
	if set {
		first = "=" + v
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GORACE=") { // the first of two would win
			env = append(env, kv)
		}
	}
	env = append(env, "GORACE="+strings.TrimSpace(v+" atexit_sleep_ms=0"), firstGORACE+"="+first)
	exe, err := os.Executable()
	if err != nil {
		return // the sleep stays: slower, not wrong
	}
	_ = syscall.Exec(exe, os.Args, env) // returns only if it failed: the sleep stays
}

// firstGORACE carries GORACE's first value into the process run again:
// "" if it was unset, "=" and the value if it was set.
const firstGORACE = "ACTORNET_LEAKCHECK_GORACE"
