//go:build race && (linux || darwin || freebsd)

package leakcheck

import (
	"os"
	"strings"
	"syscall"
)

// quickRaceExit makes this test process, and every process it starts,
// exit at once when built with the race detector. By default the race
// runtime's exit sleeps a second (GORACE's atexit_sleep_ms) to let other
// threads finish and report their races; here Main has already waited
// for the tests' goroutines to end and failed the run on any left, so the
// sleep only costs a second per test binary and per child the tests start
// (dozens). Races still print and still fail the process (exit status
// 66). GORACE is read when the process starts, so this process runs itself
// again with the setting (execve: the same pid, arguments and files); a
// GORACE that already names atexit_sleep_ms is left alone.
func quickRaceExit() {
	v := os.Getenv("GORACE")
	if strings.Contains(v, "atexit_sleep_ms") {
		return
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GORACE=") { // the first of two would win
			env = append(env, kv)
		}
	}
	env = append(env, "GORACE="+strings.TrimSpace(v+" atexit_sleep_ms=0"))
	exe, err := os.Executable()
	if err != nil {
		return // the sleep stays: slower, not wrong
	}
	_ = syscall.Exec(exe, os.Args, env) // returns only if it failed: the sleep stays
}
