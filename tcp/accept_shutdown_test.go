package tcp

import (
	"errors"
	"net"
	"syscall"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// listening spawns a pull-mode listener actor listening on addr and
// returns its PID and address; it is closed at cleanup.
func listening(t *testing.T, sys *actors.System, addr string) (*actor.PID, string) {
	t.Helper()
	pid, err := sys.Runtime().SpawnSocketActor(ListenerProps(sys))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = actors.Request[*messages.Status](sys.Root(), pid, &messages.Close{}).Wait(testCtx(t))
	})
	res, err := actors.Request[*messages.ListenResult](sys.Root(), pid, &messages.Listen{HostPort: addr}).Wait(testCtx(t))
	if err == nil {
		err = res.GetStatus().Err()
	}
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	local, _ := res.GetLocal().AddrPort()
	return pid, local.String()
}

func shutdownListener(t *testing.T, sys *actors.System, pid *actor.PID, how messages.ShutdownHow) {
	t.Helper()
	st, err := actors.Request[*messages.Status](sys.Root(), pid, &messages.Shutdown{How: how}).Wait(testCtx(t))
	if err == nil {
		err = st.Err()
	}
	if err != nil {
		t.Fatalf("shutdown(%v): %v", how, err)
	}
}

func acceptErr(t *testing.T, f *actors.Future[*messages.AcceptResult]) error {
	t.Helper()
	res, err := f.Wait(testCtx(t))
	if err != nil {
		t.Fatalf("accept: no answer: %v", err)
	}
	return res.GetStatus().Err()
}

// Shutting a listener down ends accepting as coro::net's server.shutdown()
// does: a waiting Accept is cancelled, later ones say the listener is
// closed, neither reports EINVAL from accept(2).
func TestShutdownCancelsPendingAccept(t *testing.T) {
	for _, how := range []messages.ShutdownHow{messages.ShutdownHow_SHUTDOWN_HOW_READ, messages.ShutdownHow_SHUTDOWN_HOW_BOTH} {
		t.Run(how.String(), func(t *testing.T) {
			forEachFamily(t, func(t *testing.T, addr string) {
				sys := newSystem(t)
				pid, _ := listening(t, sys, addr)
				pending := actors.Request[*messages.AcceptResult](sys.Root(), pid, &messages.Accept{})
				shutdownListener(t, sys, pid, how)
				if err := acceptErr(t, pending); !errors.Is(err, socket.ErrCancelled) || errors.Is(err, syscall.EINVAL) {
					t.Errorf("pending Accept after shutdown: %v; want cancelled", err)
				}
				later := actors.Request[*messages.AcceptResult](sys.Root(), pid, &messages.Accept{})
				if err := acceptErr(t, later); !errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.EINVAL) {
					t.Errorf("Accept after shutdown: %v; want closed", err)
				}
			})
		})
	}
}

// Shutting down only the write side of a listening socket changes
// nothing (as for the kernel): the waiting Accept still gets a connection.
func TestShutdownWriteKeepsAccepting(t *testing.T) {
	sys := newSystem(t)
	pid, local := listening(t, sys, "127.0.0.1:0")
	pending := actors.Request[*messages.AcceptResult](sys.Root(), pid, &messages.Accept{})
	shutdownListener(t, sys, pid, messages.ShutdownHow_SHUTDOWN_HOW_WRITE)
	conn, err := net.Dial("tcp", local)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := pending.Wait(testCtx(t))
	if err != nil || res.GetStatus().Err() != nil {
		t.Fatalf("Accept after shutdown(write): %v, %v; want a connection", err, res.GetStatus().Err())
	}
	client := res.GetClient().PID()
	_, _ = actors.Request[*messages.Status](sys.Root(), client, &messages.Close{}).Wait(testCtx(t))
}

// A push-mode listener that is shut down stops accepting: no accept(2)
// fails with EINVAL, no back-off loop starts, its connections go on.
func TestShutdownStopsPushAccepting(t *testing.T) {
	sys := newSystem(t)
	l, err := Serve(testCtx(t), sys, "127.0.0.1:0", HandlerFunc(func(*Conn, any) {}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(testCtx(t)) })
	shutdownListener(t, sys, l.PID(), messages.ShutdownHow_SHUTDOWN_HOW_READ)
	sys.Root().Send(l.PID(), acceptMore{}) // what a full accept batch sends: it must not accept now
	st, err := actors.Request[*messages.ListenerStats](sys.Root(), l.PID(), &messages.GetStats{}).Wait(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.GetAcceptErrors() != 0 {
		t.Errorf("accept errors after shutdown: %d; want 0", st.GetAcceptErrors())
	}
}
