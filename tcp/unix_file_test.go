package tcp

// Tests of a Unix socket file's life: a path in use, a stale file, a file
// that is not a socket, path length, the abstract namespace, removal at
// close, refused connects.

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/test/testkit"
)

// TestUnixPathInUse: a path a live listener holds is refused to a second
// Listen, Serve and StartService, with EADDRINUSE, the reason and the
// path; the first listener's file is left alone and it goes on serving.
func TestUnixPathInUse(t *testing.T) {
	forEachUnix(t, func(t *testing.T, path string) {
		sys := newSystem(t)
		ctx := testCtx(t)
		addr := socket.UnixPrefix + path
		l := serve(t, sys, addr, HandlerFunc(echoing))
		var pinned string
		if !socket.IsAbstract(path) {
			pinned = pin(t, path)
		}
		wantInUse := func(what string, err error) {
			t.Helper()
			wantUnixError(t, what, err, syscall.EADDRINUSE, "listen", path)
			if !socket.IsAbstract(path) && err != nil && !strings.Contains(err.Error(), "(a live socket listens there)") {
				t.Errorf("%s: %q does not give the reason", what, err)
			}
		}
		_, err := Listen(ctx, sys, addr)
		wantInUse("a second Listen", err)
		_, err = Serve(ctx, sys, addr, HandlerFunc(echoing))
		wantInUse("Serve", err)
		_, err = StartService(ctx, sys, addr, HandlerFunc(echoing))
		wantInUse("StartService", err)
		if pinned != "" && !sameFile(t, path, pinned) {
			t.Fatal("the live listener's socket file was replaced")
		}
		c := dial(t, sys, l.Address())
		exchange(t, "the first listener after the refusals", c, c, []byte("still here"))
	})
}

// TestUnixRefusedListenLeavesNoTrace: a Listen refused because a live
// listener holds the path must not disturb that listener. It did before it was fixed:
// BindUnix's stale-file probe (socket/unix_linux.go, staleFile) connects
// to the live listener to find it alive, and that connection stays in the
// listener's backlog, so the next Accept returns the probe (already
// closed, end of stream) instead of the next client, and a push-mode
// listener counts and serves a connection nobody made.
func TestUnixRefusedListenLeavesNoTrace(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	t.Run("pull", func(t *testing.T) {
		l := listenUnix(t, sys, unixPath(t, "pull.sock"))
		if _, err := Listen(ctx, sys, l.Address()); !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("a second Listen: %v; want EADDRINUSE", err)
		}
		c := dial(t, sys, l.Address())
		if _, err := c.Send(ctx, []byte("first")); err != nil {
			t.Fatal(err)
		}
		s, _ := accept(t, l)
		if got, err := s.RecvExact(within(t, time.Second), 5); err != nil || string(got) != "first" {
			t.Fatalf("the live listener's next connection read %q, %v; want the client's \"first\"", got, err)
		}
	})
	t.Run("push", func(t *testing.T) {
		events := make(chan any, 64)
		l := serve(t, sys, socket.UnixPrefix+unixPath(t, "push.sock"), testHandler(events, echoing))
		if _, err := Listen(ctx, sys, l.Address()); !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("a second Listen: %v; want EADDRINUSE", err)
		}
		c := dial(t, sys, l.Address())
		exchange(t, "echo", c, c, []byte("only me"))
		if st, err := l.Stats(ctx); err != nil || st.GetAccepted() != 1 {
			t.Fatalf("Stats = %v, %v; want the one client accepted", st, err)
		}
	})
}

// pin makes a hard link to the file at path, so that its inode cannot be
// reused while the test runs, and returns the link's path.
func pin(t *testing.T, path string) string {
	t.Helper()
	link := path + ".pin"
	if err := os.Link(path, link); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(link) })
	return link
}

// sameFile reports whether a and b are the same file.
func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	fa, err := os.Lstat(a)
	if err != nil {
		return false
	}
	fb, err := os.Lstat(b)
	if err != nil {
		t.Fatal(err)
	}
	return os.SameFile(fa, fb)
}

// TestUnixStaleFileReplaced: a socket file nobody listens on (left by a
// process that died) is replaced by a new listener, which serves there
// and removes its file when it closes.
func TestUnixStaleFileReplaced(t *testing.T) {
	sys := newSystem(t)
	path := unixPath(t, "stale.sock")
	staleFile(t, path)
	old := pin(t, path)
	l := listenUnix(t, sys, path)
	if !isSocketFile(t, path) || sameFile(t, path, old) {
		t.Fatal("the stale socket file is still there; want a new one")
	}
	c := dial(t, sys, l.Address())
	s, _ := accept(t, l)
	exchange(t, "through the replaced file", c, s, []byte("fresh"))
	if err := l.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	wantGone(t, "after Close", path)
}

// TestUnixNotASocket: a path that holds a regular file or a directory is
// refused (EADDRINUSE, with the reason) and left as it was; a dial to a
// regular file is refused.
func TestUnixNotASocket(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	file := unixPath(t, "regular")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := unixPath(t, "dir")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{file, dir} {
		_, err := Listen(ctx, sys, socket.UnixPrefix+path)
		wantUnixError(t, "Listen on "+path, err, syscall.EADDRINUSE, "listen", path)
		if err != nil && !strings.Contains(err.Error(), "(a file that is not a socket is there)") {
			t.Errorf("Listen on %s: %q does not give the reason", path, err)
		}
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep me" {
		t.Fatalf("the regular file now holds %q, %v", b, err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("the directory: %v, %v", fi, err)
	}
	_, err := Dial(ctx, sys, socket.UnixPrefix+file)
	wantUnixError(t, "Dial to a regular file", err, syscall.ECONNREFUSED, "connect", file)
}

// TestUnixPathLength: a path of 107 bytes (the limit: sun_path less its
// NUL) listens and connects, as a file and as an abstract name ('@'
// counted); one of 108 bytes is refused by Listen, Serve and Dial with an
// AddrError naming it, and no file is made. Empty names and NUL bytes are
// refused too.
func TestUnixPathLength(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	dir := shortDir(t)
	file := func(n int) string {
		p := dir + "/"
		return p + strings.Repeat("f", n-len(p))
	}
	for _, tt := range []struct{ name, ok, long string }{
		{"file", file(socket.MaxUnixPath), file(socket.MaxUnixPath + 1)},
		{"abstract", "@" + strings.Repeat("x", socket.MaxUnixPath-1), "@" + strings.Repeat("x", socket.MaxUnixPath)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.ok) != 107 || len(tt.long) != 108 {
				t.Fatalf("lengths %d and %d", len(tt.ok), len(tt.long))
			}
			l := listenUnix(t, sys, tt.ok)
			c := dial(t, sys, l.Address())
			s, _ := accept(t, l)
			exchange(t, "at 107 bytes", c, s, []byte("fits"))

			_, err := Listen(ctx, sys, socket.UnixPrefix+tt.long)
			wantInvalidAddr(t, "Listen at 108 bytes", err, tt.long, "108 bytes")
			_, err = Serve(ctx, sys, socket.UnixPrefix+tt.long, HandlerFunc(echoing))
			wantInvalidAddr(t, "Serve at 108 bytes", err, tt.long, "108 bytes")
			_, err = Dial(ctx, sys, socket.UnixPrefix+tt.long)
			wantInvalidAddr(t, "Dial at 108 bytes", err, tt.long, "108 bytes")
			if !socket.IsAbstract(tt.long) {
				wantGone(t, "a refused 108-byte path", tt.long)
			}
		})
	}
	for _, bad := range []string{"unix:", "unix:@", "unix:/tmp/nul\x00byte"} {
		if _, err := Listen(ctx, sys, bad); !errors.Is(err, socket.ErrInvalidAddress) {
			t.Errorf("Listen %q: %v; want an invalid address", bad, err)
		}
		if _, err := Dial(ctx, sys, bad); !errors.Is(err, socket.ErrInvalidAddress) {
			t.Errorf("Dial %q: %v; want an invalid address", bad, err)
		}
	}
}

// TestUnixAbstractMakesNoFile: a listener on an abstract name makes no
// file (neither "@name" nor "name" in the working directory); the kernel
// lists the name while it listens, and not after Close.
func TestUnixAbstractMakesNoFile(t *testing.T) {
	sys := newSystem(t)
	name := abstractName(t)
	listed := func() bool {
		b, err := os.ReadFile("/proc/net/unix")
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Contains(b, []byte(" "+name+"\n"))
	}
	l := listenUnix(t, sys, name)
	if !listed() {
		t.Fatalf("/proc/net/unix does not list %s", name)
	}
	wantGone(t, "abstract name", name)
	wantGone(t, "abstract name", name[1:])
	if err := l.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if listed() {
		t.Fatalf("/proc/net/unix still lists %s after Close", name)
	}
}

// TestUnixFileRemovedAtClose: the socket file a listener made is removed
// when it closes, however it closes: Close of a pull-mode or push-mode
// listener, Stop of a service, Stop of the system, a crash of the
// listener actor. A file someone else put at the path meanwhile (another
// listener's) is not removed.
func TestUnixFileRemovedAtClose(t *testing.T) {
	closers := []struct {
		name  string
		close func(t *testing.T, sys *actors.System, addr string)
	}{
		{"listener Close", func(t *testing.T, sys *actors.System, addr string) {
			l, err := Listen(testCtx(t), sys, addr)
			if err != nil {
				t.Fatal(err)
			}
			wantSocketFile(t, l.Path())
			if err := l.Close(testCtx(t)); err != nil {
				t.Fatal(err)
			}
		}},
		{"push-mode listener Close", func(t *testing.T, sys *actors.System, addr string) {
			l, err := Serve(testCtx(t), sys, addr, HandlerFunc(echoing))
			if err != nil {
				t.Fatal(err)
			}
			wantSocketFile(t, l.Path())
			if err := l.Close(testCtx(t)); err != nil {
				t.Fatal(err)
			}
		}},
		{"service Stop", func(t *testing.T, sys *actors.System, addr string) {
			svc, err := StartService(testCtx(t), sys, addr, HandlerFunc(echoing))
			if err != nil {
				t.Fatal(err)
			}
			if svc.Address() != addr || svc.Addr().IsValid() {
				t.Errorf("service Address %q, Addr %v; want %s and none", svc.Address(), svc.Addr(), addr)
			}
			wantSocketFile(t, svc.Path())
			c := dial(t, sys, svc.Address())
			exchange(t, "through the service", c, c, []byte("svc"))
			if err := svc.Stop(testCtx(t)); err != nil {
				t.Fatal(err)
			}
		}},
		{"system Stop", func(t *testing.T, _ *actors.System, addr string) {
			sys, err := actors.Start()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sys.StopNow() }) // if the test fails first
			l, err := Serve(testCtx(t), sys, addr, HandlerFunc(echoing))
			if err != nil {
				t.Fatal(err)
			}
			wantSocketFile(t, l.Path())
			if err := sys.StopNow(); err != nil {
				t.Fatal(err)
			}
		}},
		{"listener crash", func(t *testing.T, sys *actors.System, addr string) {
			l, err := Listen(testCtx(t), sys, addr)
			if err != nil {
				t.Fatal(err)
			}
			wantSocketFile(t, l.Path())
			sys.Root().Send(l.PID(), &messages.InjectFault{})
			testkit.WaitStopped(t, sys, l.PID())
		}},
	}
	for _, tt := range closers {
		t.Run(tt.name, func(t *testing.T) {
			sys := newSystem(t, actors.WithFaultInjection())
			path := unixPath(t, "gone.sock")
			tt.close(t, sys, socket.UnixPrefix+path)
			wantGone(t, "after "+tt.name, path)
		})
	}

	t.Run("not another's file", func(t *testing.T) {
		sys := newSystem(t)
		path := unixPath(t, "theirs.sock")
		first := listenUnix(t, sys, path)
		if err := os.Remove(path); err != nil { // someone removes it...
			t.Fatal(err)
		}
		second := listenUnix(t, sys, path) // ...and listens there
		if err := first.Close(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		wantSocketFile(t, path)
		c := dial(t, sys, second.Address())
		s, _ := accept(t, second)
		exchange(t, "the second listener after the first closed", c, s, []byte("mine"))
	})
}

// wantSocketFile checks that path is a socket file.
func wantSocketFile(t *testing.T, path string) {
	t.Helper()
	if !isSocketFile(t, path) {
		t.Fatalf("no socket file at %s", path)
	}
}

// TestUnixConnectRefused: a dial to a socket file nobody listens on is
// refused (ECONNREFUSED), to a path with no file fails with ENOENT, to an
// abstract name nobody holds is refused; each error is the connect's and
// names the path, and ConnectAsync's result says the same.
func TestUnixConnectRefused(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	stale := unixPath(t, "stale.sock")
	staleFile(t, stale)
	for _, tt := range []struct {
		name, path string
		want       error
		status     messages.ConnectStatus
	}{
		{"stale file", stale, syscall.ECONNREFUSED, messages.ConnectStatus_CONNECT_STATUS_REFUSED},
		{"no file", unixPath(t, "none.sock"), syscall.ENOENT, messages.ConnectStatus_CONNECT_STATUS_ERROR},
		{"abstract", abstractName(t), syscall.ECONNREFUSED, messages.ConnectStatus_CONNECT_STATUS_REFUSED},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Dial(ctx, sys, socket.UnixPrefix+tt.path)
			wantUnixError(t, "Dial", err, tt.want, "connect", tt.path)
			c, err := NewClient(sys)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			res, err := c.ConnectAsync(socket.UnixPrefix+tt.path, 0).Wait(ctx)
			if err != nil || res.GetStatus() != tt.status {
				t.Fatalf("ConnectAsync = %v, %v; want status %v", res, err, tt.status)
			}
			wantUnixError(t, "ConnectResult.Error", res.GetError().Err(), tt.want, "connect", tt.path)
		})
	}
}
