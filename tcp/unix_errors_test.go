package tcp

// Tests of what Unix-domain sockets report: errors naming the path, IP
// options refused, a service restarting its listener, the net adapters,
// Info of an unnamed end.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// TestUnixAcceptedClientErrorsNameThePath: the errors of a client
// accepted on a Unix listener are unix ones naming the listener's path,
// as the dialer's are. Before the fix they read "recv tcp: EOF": acceptedProps
// (tcp/listener_actor.go) never sets the client actor's path, so its
// status falls back to TCP's.
func TestUnixAcceptedClientErrorsNameThePath(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	path := unixPath(t, "acc.sock")
	l := listenUnix(t, sys, path)
	c := dial(t, sys, l.Address())
	s, _ := accept(t, l)
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := s.Recv(ctx, 16)
	wantUnixError(t, "the accepted client's Recv at end of stream", err, io.EOF, "recv", path)
}

// TestUnixDialerErrorsNameThePath: a dialer's errors after connecting
// are unix ones naming the path it dialed.
func TestUnixDialerErrorsNameThePath(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	path := unixPath(t, "dialer.sock")
	l := listenUnix(t, sys, path)
	c := dial(t, sys, l.Address())
	s, _ := accept(t, l)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := c.Recv(ctx, 16)
	wantUnixError(t, "the dialer's Recv at end of stream", err, io.EOF, "recv", path)
}

// TestUnixServiceSurvivesListenerCrash: a service on a Unix path whose
// listener crashes starts a new one on the same path (ListenerRestarted
// says which); the connection open at the crash lives on, new ones reach
// the new listener, and Stop removes the file.
func TestUnixServiceSurvivesListenerCrash(t *testing.T) {
	forEachUnix(t, func(t *testing.T, path string) {
		sys := newSystem(t, actors.WithFaultInjection())
		ctx := testCtx(t)
		svc, err := StartService(ctx, sys, socket.UnixPrefix+path, HandlerFunc(echoing))
		if err != nil {
			t.Fatal(err)
		}
		if svc.Path() != path {
			t.Fatalf("service Path = %q; want %s", svc.Path(), path)
		}
		before := dial(t, sys, svc.Address())
		exchange(t, "before the crash", before, before, []byte("one"))
		info, err := svc.Info(ctx)
		if err != nil || info.GetLocal().GetPath() != path {
			t.Fatalf("service Info = %v, %v; want local %s", info, err, path)
		}
		restarted := make(chan *ListenerRestarted, 1)
		sub := sys.Actors.EventStream.Subscribe(func(evt any) {
			if r, ok := evt.(*ListenerRestarted); ok {
				restarted <- r
			}
		})
		defer sys.Actors.EventStream.Unsubscribe(sub)
		sys.Root().Send(info.GetListener().PID(), &messages.InjectFault{})
		select {
		case r := <-restarted:
			if r.Old.Id != info.GetListener().GetId() || r.Path != path || r.Addr.IsValid() {
				t.Fatalf("ListenerRestarted = %+v; want the old listener, path %s", r, path)
			}
		case <-ctx.Done():
			t.Fatal("the service never replaced its crashed listener")
		}
		exchange(t, "the connection open at the crash", before, before, []byte("two"))
		after := dial(t, sys, svc.Address())
		exchange(t, "a connection after the crash", after, after, []byte("three"))
		if in, err := svc.Info(ctx); err != nil || in.GetRestarts() != 1 {
			t.Fatalf("Info = %v, %v; want 1 restart", in, err)
		}
		if err := svc.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if !socket.IsAbstract(path) {
			wantGone(t, "after Stop", path)
		}
	})
}

// TestUnixIPOptionsRefused: options that mean nothing on a Unix socket
// (keepalive, port reuse, IPv6-only) make Listen and Serve fail with an
// invalid argument naming the path, and leave no file behind; the options
// that do apply (backlog, buffers, linger) are taken.
func TestUnixIPOptionsRefused(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	path := unixPath(t, "opts.sock")
	addr := socket.UnixPrefix + path
	for name, opt := range unixIPOptions {
		t.Run(name, func(t *testing.T) {
			_, err := Listen(ctx, sys, addr, opt)
			wantUnixError(t, "Listen", err, socket.ErrInvalidArgument, "listen", path)
			_, err = Serve(ctx, sys, addr, HandlerFunc(echoing), opt)
			wantUnixError(t, "Serve", err, socket.ErrInvalidArgument, "listen", path)
			wantGone(t, "after a refused option", path)
		})
	}
	l := listenUnix(t, sys, path, WithBacklog(4), WithBuffers(64<<10, 64<<10), WithLinger(time.Second))
	c, err := Dial(ctx, sys, l.Address(), WithBuffers(64<<10, 64<<10), WithLinger(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	s, _ := accept(t, l)
	exchange(t, "with buffers and linger", c, s, []byte("ok"))
}

// unixIPOptions are options of IP sockets only, by the words an error
// refusing each on a Unix socket should name it by.
var unixIPOptions = map[string]ListenOption{
	"WithKeepAlive": WithKeepAlive(socket.KeepAlive{Enable: true, Idle: time.Minute}),
	"WithReusePort": WithReusePort(true),
	"WithV6Only":    WithV6Only(true),
}

// TestUnixIPOptionErrorsNameTheOption: the refusal of an IP-only option
// on a Unix socket says which option, at Listen as at Dial. Before the fix
// Listen's reason (unixOptions in tcp/listener_actor.go: "WithKeepAlive
// does not apply to a Unix socket") is lost on the way back, as the
// Status keeps no text of a plain wrapped error: the caller reads "listen
// unix PATH: invalid argument"; and Dial checks nothing: WithKeepAlive
// gets "connect unix PATH: operation not supported" from setsockopt
// TCP_KEEPIDLE.
func TestUnixIPOptionErrorsNameTheOption(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	path := unixPath(t, "opts.sock")
	for name, opt := range unixIPOptions {
		if _, err := Listen(ctx, sys, socket.UnixPrefix+path, opt); !strings.Contains(fmt.Sprint(err), name) {
			t.Errorf("Listen with %s: %v; want it named", name, err)
		}
	}
	l := listenUnix(t, sys, path)
	_, err := Dial(ctx, sys, l.Address(), WithKeepAlive(socket.KeepAlive{Enable: true, Idle: time.Minute}))
	if !errors.Is(err, socket.ErrInvalidArgument) || !strings.Contains(fmt.Sprint(err), "WithKeepAlive") {
		t.Errorf("Dial with WithKeepAlive: %v; want an invalid argument naming WithKeepAlive", err)
	}
}

// TestUnixNetConn: a NetConn over a Unix client speaks *net.UnixAddr,
// as Go's net.UnixConn does, dialed or accepted.
func TestUnixNetConn(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	path := unixPath(t, "net.sock")
	l := listenUnix(t, sys, path)
	nc, err := NewNetConn(ctx, dial(t, sys, l.Address()))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if ra, ok := nc.RemoteAddr().(*net.UnixAddr); !ok || ra.Name != path || ra.Network() != "unix" {
		t.Errorf("dialer NetConn.RemoteAddr = %#v; want a *net.UnixAddr %s", nc.RemoteAddr(), path)
	}
	s, _ := accept(t, l)
	sc, err := NewNetConn(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if la, ok := sc.LocalAddr().(*net.UnixAddr); !ok || la.Name != path {
		t.Errorf("accepted NetConn.LocalAddr = %#v; want a *net.UnixAddr %s", sc.LocalAddr(), path)
	}
	if _, err := nc.Write([]byte("net")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := io.ReadFull(sc, buf); err != nil || string(buf) != "net" {
		t.Fatalf("read %q, %v", buf, err)
	}
}

// TestUnixNetListenerAddr: a NetListener over a Unix listener reports a
// *net.UnixAddr, as Go's net.UnixListener does. Before the fix NewNetListener
// (tcp/netlistener.go) always makes a *net.TCPAddr from l.Addr(), the
// zero AddrPort for a Unix listener: Addr() reads ":0".
func TestUnixNetListenerAddr(t *testing.T) {
	sys := newSystem(t)
	path := unixPath(t, "netl.sock")
	nl := NewNetListener(listenUnix(t, sys, path))
	if la, ok := nl.Addr().(*net.UnixAddr); !ok || la.Name != path {
		t.Errorf("NetListener.Addr = %#v (%v); want a *net.UnixAddr %s", nl.Addr(), nl.Addr(), path)
	}
}

// TestUnixAcceptFailedNamesThePath: a push-mode Unix listener whose
// accept fails (EMFILE, injected once) publishes AcceptFailed, backs off
// and then accepts the waiting client, which gets its echo. The event's
// error should name the listener's path, as every other error of a Unix
// socket does; before the fix acceptLoop (tcp/listener_actor.go) builds it with
// Addr: a.local, the zero AddrPort for a Unix listener, and no Path, so
// it read "accept unix: too many open files".
func TestUnixAcceptFailedNamesThePath(t *testing.T) {
	sys := newSystem(t)
	path := unixPath(t, "emfile.sock")
	l := serve(t, sys, socket.UnixPrefix+path, HandlerFunc(echoing))
	failed := make(chan *AcceptFailed, 4)
	sub := sys.Actors.EventStream.Subscribe(func(evt any) {
		if f, ok := evt.(*AcceptFailed); ok {
			select {
			case failed <- f:
			default:
			}
		}
	})
	defer sys.Actors.EventStream.Unsubscribe(sub)
	var once sync.Once
	remove := socket.InjectFaults(func(op socket.Op, fd int) error {
		var err error
		if op == socket.OpAccept {
			once.Do(func() { err = syscall.EMFILE })
		}
		return err
	})
	defer remove()
	c := dial(t, sys, l.Address())
	var f *AcceptFailed
	select {
	case f = <-failed:
	case <-testCtx(t).Done():
		t.Fatal("no AcceptFailed")
	}
	if f.Listener.Id != l.PID().Id || !errors.Is(f.Err, syscall.EMFILE) || f.Backoff <= 0 {
		t.Fatalf("AcceptFailed = %+v; want the listener's EMFILE with a back-off", f)
	}
	exchange(t, "the client accepted after the back-off", c, c, []byte("later"))
	wantUnixError(t, "AcceptFailed.Err", f.Err, syscall.EMFILE, "accept", path)
}

// TestUnixInfoOfUnnamedEnd: the Info of a dialer (a socket that never
// bound) has no local address, and that of the client accepted from it no
// remote one. Before the fix both read "unix:@": socket.LocalPath and RemotePath
// return "@" for an unnamed socket (see socket's
// TestUnixUnnamedPathIsEmpty).
func TestUnixInfoOfUnnamedEnd(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	l := listenUnix(t, sys, unixPath(t, "info.sock"))
	c := dial(t, sys, l.Address())
	s, _ := accept(t, l)
	if in, err := c.Info(ctx); err != nil || in.GetLocal().IsUnix() {
		t.Errorf("dialer Info = %v, %v; want no local path", in, err)
	}
	if in, err := s.Info(ctx); err != nil || in.GetRemote().IsUnix() {
		t.Errorf("accepted Info = %v, %v; want no remote path", in, err)
	}
}
