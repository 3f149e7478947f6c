// Package leakcheck is the TestMain every actornet package uses: it fails
// the run when goroutines or file descriptors outlive the tests.
package leakcheck

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Main runs the tests, then fails (exit status 1) if a goroutine that did
// not exist before is still running, or an fd that was not open before is
// still open. after runs between the tests and the checks: the teardown of
// what the tests share across runs (-count).
func Main(m *testing.M, after ...func()) { MainIgnoring(m, nil, after...) }

// MainIgnoring is Main that also ignores the goroutines ignore names:
// for a package whose tests run a dependency that leaves goroutines
// behind by design (ClusterIgnored).
func MainIgnoring(m *testing.M, ignore []goleak.Option, after ...func()) {
	quickRaceExit()
	b, err := Begin()
	if err != nil {
		fmt.Fprintln(os.Stderr, "leakcheck:", err)
		os.Exit(2)
	}
	code := m.Run()
	for _, f := range after {
		f()
	}
	if code == 0 {
		if err := b.End(ignore...); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// Baseline is what a process had running and open before the code under
// check: Main takes one before the tests; a child process that a test
// starts, and that runs no tests of its own, takes one with Begin and
// checks against it with End.
type Baseline struct {
	fds        map[int]string
	goroutines goleak.Option
}

// Begin takes the baseline.
func Begin() (*Baseline, error) {
	// Make the Go runtime open its own netpoll fds now, so they are part of
	// the baseline rather than reported as leaks.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	before, err := OpenFDs()
	if err != nil {
		return nil, err
	}
	// The goroutines running now are the baseline: taken after the tests,
	// the snapshot would count every goroutine they leaked as baseline.
	return &Baseline{fds: before, goroutines: goleak.IgnoreCurrent()}, nil
}

// End returns an error naming the goroutines that did not exist at Begin
// and still run, and the fds that were not open then and still are
// (after giving both a moment to settle); nil if there are none. extra
// are further goroutines to ignore: a dependency's that outlive their
// owner by design, each named with its cause where it is passed.
func (b *Baseline) End(extra ...goleak.Option) error {
	var errs []error
	opts := append(append([]goleak.Option{b.goroutines}, ignored...), extra...)
	if err := settledGoroutines(opts); err != nil {
		errs = append(errs, fmt.Errorf("leakcheck: leaked goroutines: %w", err))
	}
	if leaked := settledFDs(b.fds); len(leaked) > 0 {
		errs = append(errs, fmt.Errorf("leakcheck: leaked fds: %v", leaked))
	}
	return errors.Join(errs...)
}

// ignored are goroutines that outlive a test run by design, not by a
// leak: Proto.Actor's dead-letter throttle starts one per burst of dead
// letters, which ends by itself after the throttle interval (1 s).
var ignored = []goleak.Option{
	goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
}

// ClusterIgnored are goroutines Proto.Actor's cluster leaves behind at
// the pinned version, which nothing can stop: the timers of its gossip
// log throttles (actor.NewThrottle and NewThrottleWithLogger start a
// goroutine per burst of log calls that waits out the period, 60 s for
// the gossiper's and the gossip actor's, with no way to end it early).
// Packages whose tests start cluster members pass them to MainIgnoring
// or Baseline.End.
var ClusterIgnored = []goleak.Option{
	goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/cluster.(*Gossiper).StartGossiping.NewThrottle.func3.1"),
	goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/cluster.NewGossipActor.NewThrottleWithLogger.func2.1"),
}

// settledGoroutines is goleak.Find given up to goroutineSettle to come
// clean: a dependency's goroutine that ends by itself shortly after its
// owner stopped is not a leak. Proto.Actor's endpoint writer, when the
// node it wrote to stopped first, sleeps two seconds before it gives up
// (actors sets its retries to one) and cannot be woken. A goroutine that
// is still there after goroutineSettle() is reported.
func settledGoroutines(opts []goleak.Option) error {
	deadline := time.Now().Add(goroutineSettle())
	for {
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// goroutineSettle bounds how long settledGoroutines waits: 4 s, or what
// the environment variable settleEnv says (leakcheck's own test gives its
// leaking children less).
func goroutineSettle() time.Duration {
	if d, err := time.ParseDuration(os.Getenv(settleEnv)); err == nil && d >= 0 {
		return d
	}
	return 4 * time.Second
}

// settleEnv names the variable that overrides goroutineSettle's 4 s.
const settleEnv = "ACTORNET_LEAKCHECK_SETTLE"

// settledFDs is LeakedFDs once garbage has been collected: fds that only
// garbage holds (Go's net package pools the pipes it splices through, and
// finalizers close them) are not leaks. It collects and looks again for at
// most a second.
func settledFDs(before map[int]string) []string {
	deadline := time.Now().Add(time.Second)
	for {
		leaked := LeakedFDs(before)
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		runtime.GC()                      // queues the finalizers of what is unreachable
		time.Sleep(10 * time.Millisecond) // lets the finalizer goroutine run them
	}
}

// OpenFDs returns the process's open fds and what each points to.
func OpenFDs() (map[int]string, error) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	fds := make(map[int]string, len(entries))
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // the fd ReadDir itself used, now closed
		}
		fds[fd] = target
	}
	return fds, nil
}

// LeakedFDs lists fds open now that were not open (or pointed elsewhere)
// in before, as "fd -> target".
func LeakedFDs(before map[int]string) []string {
	now, err := OpenFDs()
	if err != nil {
		return []string{err.Error()}
	}
	var leaked []string
	for fd, target := range now {
		if before[fd] != target {
			leaked = append(leaked, fmt.Sprintf("%d -> %s", fd, target))
		}
	}
	sort.Strings(leaked)
	return leaked
}
