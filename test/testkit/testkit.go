// Package testkit holds the helpers the protocol packages' tests share: a
// system stopped at cleanup, a bounded context, and the loopback address
// of each family. Tests bind port 0 on 127.0.0.1 or [::1] only.
package testkit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/socket"
)

// Timeout bounds every wait in a test; reaching it is a failure.
const Timeout = 10 * time.Second

// Loopbacks are the two address families every protocol test runs on.
var Loopbacks = []struct{ Name, Addr string }{
	{Name: "ipv4", Addr: "127.0.0.1:0"},
	{Name: "ipv6", Addr: "[::1]:0"},
}

// ForEachFamily runs f as a subtest per family with its loopback address.
func ForEachFamily(t *testing.T, f func(t *testing.T, addr string)) {
	for _, lb := range Loopbacks {
		t.Run(lb.Name, func(t *testing.T) { f(t, lb.Addr) })
	}
}

// System starts a system with opts and stops it at cleanup, failing the
// test if the stop fails.
func System(t testing.TB, opts ...actors.Option) *actors.System {
	t.Helper()
	sys, err := actors.Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sys.StopNow(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return sys
}

// Context returns a context that ends after Timeout or at cleanup.
func Context(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

// Within returns a context that ends after d (or at cleanup): the
// deadline of one blocking call whose timeout a test exercises.
func Within(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// WaitStopped waits until the actor at pid has stopped (a probe actor
// watches it), failing the test after Timeout. A socket actor has left
// the system's books (Sockets, Metrics) by then.
func WaitStopped(t testing.TB, sys *actors.System, pid *actor.PID) {
	t.Helper()
	done := make(chan struct{})
	probe := sys.Root().Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case *actor.Started:
			ctx.Watch(pid)
		case *actor.Terminated:
			close(done)
			ctx.Stop(ctx.Self())
		}
	}))
	select {
	case <-done:
	case <-time.After(Timeout):
		sys.Root().Stop(probe)
		t.Fatalf("%v did not stop", pid)
	}
}

// Stalls collects the actors.Stalled events sys publishes, until cleanup:
// for tests that a handler is (or is not) taken for a blocking one.
func Stalls(t testing.TB, sys *actors.System) <-chan *actors.Stalled {
	t.Helper()
	stalls := make(chan *actors.Stalled, 16)
	sub := sys.Actors.EventStream.Subscribe(func(evt any) {
		if s, ok := evt.(*actors.Stalled); ok {
			select {
			case stalls <- s:
			default:
			}
		}
	})
	t.Cleanup(func() { sys.Actors.EventStream.Unsubscribe(sub) })
	return stalls
}

// WantOptionError checks that err is the OpError of op for an invalid
// option, with the message want (which names the option and its value).
func WantOptionError(t testing.TB, err error, op, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want %q", want)
	}
	var oe *socket.OpError
	if !errors.As(err, &oe) || oe.Op != op {
		t.Errorf("error %v (%T) is not an OpError of %q", err, err, op)
	}
	if !errors.Is(err, socket.ErrInvalidArgument) {
		t.Errorf("error %v does not wrap socket.ErrInvalidArgument", err)
	}
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// UnixPath returns a fresh Unix socket path in a directory with a short
// path (sun_path takes at most 107 bytes, and t.TempDir's can be longer),
// removed at cleanup.
func UnixPath(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "an")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return filepath.Join(dir, name)
}

// HoldConn is a net.Conn that holds what is written through it while
// Hold is set (in Held), so that a test can send several writes' bytes in
// one segment, or only part of them.
type HoldConn struct {
	net.Conn
	Hold bool
	Held []byte
}

// Write holds p while Hold is set, and writes it through otherwise.
func (h *HoldConn) Write(p []byte) (int, error) {
	if h.Hold {
		h.Held = append(h.Held, p...)
		return len(p), nil
	}
	return h.Conn.Write(p)
}

// ClusterAddr returns a loopback address whose port and the next one (the
// automanaged provider's, actors.ProviderPort) the kernel has just had
// free: a cluster node's, which must be fixed and known to the others.
func ClusterAddr(t testing.TB) string {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		next, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(actors.ProviderPort(port))))
		l.Close()
		if err == nil {
			next.Close()
			return l.Addr().String()
		}
	}
	t.Fatal("no two free consecutive ports on 127.0.0.1")
	return ""
}

// Piped starts cmd with pipes to its standard input and output; its
// standard error is collected in the returned buffer (read it once cmd
// has exited). The test fails if cmd cannot start.
func Piped(t testing.TB, cmd *exec.Cmd) (stdin io.WriteCloser, stdout io.ReadCloser, stderr *bytes.Buffer) {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err = cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr = &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return stdin, stdout, stderr
}

// ReadsPerReady returns the reads of the sockets counted under key and
// the Ready messages sys's pollers delivered: a socket that reads at most
// n times per readiness has reads <= n*ready, whatever the clock.
func ReadsPerReady(sys *actors.System, key actors.MetricKey) (reads, ready uint64) {
	m := sys.Metrics()
	for _, p := range m.Pollers {
		ready += p.Readable + p.Writable
	}
	return m.Sockets[key].Reads, ready
}
