package actors

import (
	"errors"
	"net"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// boom makes panicActor panic.
type boom struct{}

// panicActor is a socket actor that panics on boom.
type panicActor struct{ core *core.Core }

func (a *panicActor) SocketCore() *core.Core { return a.core }

func (a *panicActor) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(boom); ok {
		panic("boom")
	}
	a.core.Receive(ctx, nil)
}

func panicProps(t *testing.T, sys *System) (*actor.Props, *socket.Socket) {
	t.Helper()
	a, b, err := socket.Pair(socket.Stream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return core.SocketProps(sys.Runtime(), a, func(c *core.Core) (core.SocketActor, core.Protocol) { return &panicActor{core: c}, core.Hooks{} }), b
}

func TestPanicClosesFD(t *testing.T) {
	sys := newSystem(t)
	props, peer := panicProps(t, sys)
	pid, err := sys.Runtime().SpawnSocketActor(props)
	if err != nil {
		t.Fatal(err)
	}
	s := &Socket{sys: sys, pid: pid}
	pending := s.PollAsync(opRead, 0)
	sys.Root().Send(pid, boom{})
	waitEOF(t, peer)
	res, err := pending.Wait(testCtx(t))
	if err != nil || res.GetStatus() != stCancelled {
		t.Fatalf("poll pending at the panic = %v, %v; want cancelled", res, err)
	}
	if st, err := s.Poll(testCtx(t), opRead); st != stClosed || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Poll after panic = %v, %v; want closed", st, err)
	}
}

// restartingParent spawns a socket actor child and supervises it with the
// default (restarting) strategy.
type restartingParent struct {
	props *actor.Props
	child chan *actor.PID
}

func (p *restartingParent) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Started); ok {
		p.child <- ctx.Spawn(p.props)
	}
}

func TestSocketActorStopsEvenUnderRestartingParent(t *testing.T) {
	sys := newSystem(t)
	props, peer := panicProps(t, sys)
	parent := &restartingParent{props: props, child: make(chan *actor.PID, 1)}
	ppid := sys.Root().Spawn(actor.PropsFromProducer(func() actor.Actor { return parent },
		actor.WithSupervisor(actor.DefaultSupervisorStrategy())))
	t.Cleanup(func() { _ = sys.Root().StopFuture(ppid).Wait() })
	child := <-parent.child
	sys.Root().Send(child, boom{})
	waitEOF(t, peer)
	s := &Socket{sys: sys, pid: child}
	if st, _ := s.Poll(testCtx(t), opRead); st != stClosed {
		t.Fatalf("Poll after restart = %v; want closed", st)
	}
}

func TestStopClosesFD(t *testing.T) {
	sys := newSystem(t)
	sa, peer := pair(t, sys)
	if err := sys.Root().StopFuture(sa.PID()).Wait(); err != nil {
		t.Fatal(err)
	}
	waitEOF(t, peer)
	if st, err := sa.Poll(testCtx(t), opRead); st != stClosed || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Poll to a stopped actor = %v, %v; want closed", st, err)
	}
}

func TestSystemStopClosesEverySocket(t *testing.T) {
	sys, err := Start(WithPollers(2))
	if err != nil {
		t.Fatal(err)
	}
	var peers []*socket.Socket
	var pending []*Future[*messages.PollResult]
	var socks []*Socket
	for i := 0; i < 8; i++ {
		sa, peer := pair(t, sys)
		socks = append(socks, sa)
		peers = append(peers, peer)
		pending = append(pending, sa.PollAsync(opRead, 0))
	}
	if n := sys.Sockets(); n != 8 {
		t.Fatalf("Sockets() = %d; want 8", n)
	}
	if load := sys.Pollers(); len(load) != 2 || load[0] != 4 || load[1] != 4 {
		t.Fatalf("poller load = %v; want 8 sockets spread 4 and 4", load)
	}
	if err := sys.StopNow(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for _, p := range peers {
		waitEOF(t, p)
	}
	for _, f := range pending {
		if res, err := f.Wait(testCtx(t)); err != nil || res.GetStatus() != stCancelled {
			t.Fatalf("poll pending at Stop = %v, %v; want cancelled", res, err)
		}
	}
	if st, err := socks[0].Poll(testCtx(t), opRead); st != stClosed || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Poll after Stop = %v, %v; want closed", st, err)
	}
	a, b, err := socket.Pair(socket.Stream)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := SpawnSocket(sys, a); !errors.Is(err, ErrSystemStopped) {
		t.Fatalf("SpawnSocket after Stop = %v; want ErrSystemStopped", err)
	}
	if a.FD() != -1 {
		t.Fatal("SpawnSocket after Stop left the socket open")
	}
	if err := sys.StopNow(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestUnknownCommandIsRefused(t *testing.T) {
	sys := newSystem(t)
	sa, _ := pair(t, sys)
	f := Request[*messages.AcceptResult](sys.Root(), sa.PID(), &messages.Accept{})
	res, err := f.Wait(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.GetStatus().Err(); !errors.Is(err, socket.ErrInvalidArgument) {
		t.Fatalf("Accept on a plain socket actor = %v; want ErrInvalidArgument", err)
	}
}

// TestSocketPropsSpawnedTwice: props that own a socket spawn one actor; a
// second spawn gets an actor that stops at once and answers closed, and
// the first actor's socket is untouched.
func TestSocketPropsSpawnedTwice(t *testing.T) {
	sys := newSystem(t)
	props, peer := panicProps(t, sys)
	first, err := sys.Runtime().SpawnSocketActor(props)
	if err != nil {
		t.Fatal(err)
	}
	second, err := sys.Runtime().SpawnSocketActor(props)
	if err != nil {
		t.Fatal(err)
	}
	s2 := &Socket{sys: sys, pid: second}
	if st, err := s2.Poll(testCtx(t), opRead); st != stClosed || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Poll to the second spawn = %v, %v; want closed", st, err)
	}
	// The first still owns a live socket: the peer's byte makes it readable.
	s1 := &Socket{sys: sys, pid: first}
	if _, err := peer.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	if st, err := s1.Poll(testCtx(t), opRead); err != nil {
		t.Fatalf("Poll to the first spawn = %v, %v; want an event", st, err)
	}
	if err := s1.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

// holdActor is a socket actor that, on hold, blocks its mailbox's
// goroutine until release is closed, and blocks in Stopping until
// stopping is closed.
type holdActor struct {
	core                    *core.Core
	held, release, stopping chan struct{}
}

type hold struct{}

func (a *holdActor) SocketCore() *core.Core { return a.core }

func (a *holdActor) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case hold:
		close(a.held)
		<-a.release
		return
	case *actor.Stopping:
		<-a.stopping
	}
	a.core.Receive(ctx, nil)
}

// TestSocketsAfterClose: once Close returns, Sockets no longer counts the
// socket, even when the Close was handled on another goroutine (the one
// running the actor at the time) and the actor has not finished stopping.
func TestSocketsAfterClose(t *testing.T) {
	sys := newSystem(t)
	a, b, err := socket.Pair(socket.Stream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	h := &holdActor{held: make(chan struct{}), release: make(chan struct{}), stopping: make(chan struct{})}
	pid, err := sys.Runtime().SpawnSocketActor(core.SocketProps(sys.Runtime(), a, func(c *core.Core) (core.SocketActor, core.Protocol) {
		h.core = c
		return h, core.Hooks{}
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer close(h.stopping) // before the system's stop waits for the actor
	if n := sys.Sockets(); n != 1 {
		t.Fatalf("Sockets() = %d; want 1", n)
	}
	go sys.Root().Send(pid, hold{}) // runs inline on that goroutine, and blocks it
	<-h.held
	s := &Socket{sys: sys, pid: pid}
	closed := s.CloseAsync() // queued: the holding goroutine will handle it
	close(h.release)
	if _, err := closed.Wait(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	// The actor is held in Stopping now: live, but closed by Close.
	if n := sys.Sockets(); n != 0 {
		t.Fatalf("Sockets() = %d after Close returned; want 0", n)
	}
}
