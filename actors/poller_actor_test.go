package actors

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// pollerEvents subscribes to the PollerFailed events of sys.
func pollerEvents(t *testing.T, sys *System) <-chan *messages.PollerFailed {
	t.Helper()
	ch := make(chan *messages.PollerFailed, 32)
	sub := sys.Actors.EventStream.Subscribe(func(evt interface{}) {
		if e, ok := evt.(*messages.PollerFailed); ok {
			ch <- e
		}
	})
	t.Cleanup(func() { sys.Actors.EventStream.Unsubscribe(sub) })
	return ch
}

// watch spawns an actor that watches pid and reports its Terminated.
func watch(t *testing.T, sys *System, pid *actor.PID) <-chan *actor.Terminated {
	t.Helper()
	ch := make(chan *actor.Terminated, 1)
	watching := make(chan struct{})
	sys.Root().Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actor.Started:
			ctx.Watch(pid)
			close(watching)
		case *actor.Terminated:
			ch <- m
			ctx.Stop(ctx.Self())
		}
	}))
	<-watching
	return ch
}

// pollerStats asks the poller actor at pid for its counters.
func pollerStats(t *testing.T, sys *System, pid *actor.PID) *messages.PollerStats {
	t.Helper()
	res, err := sys.Root().RequestFuture(pid, &messages.GetPollerStats{}, testTimeout).Result()
	if err != nil {
		t.Fatalf("GetPollerStats: %v", err)
	}
	st, ok := res.(*messages.PollerStats)
	if !ok {
		t.Fatalf("GetPollerStats answered %T", res)
	}
	return st
}

func wantPollerError(t *testing.T, err error, name, reason string) {
	t.Helper()
	var pe *socket.PollerError
	if !errors.Is(err, socket.ErrPolling) || !errors.As(err, &pe) || pe.Poller != name || !strings.Contains(pe.Reason, reason) {
		t.Fatalf("error = %v; want a polling error naming %s (%q)", err, name, reason)
	}
}

func TestPollerActorsAreNamedAndCount(t *testing.T) {
	sys := newSystem(t, WithPollers(2))
	pids := sys.PollerPIDs()
	if len(pids) != 2 || pids[0].GetId() != "actornet/poller/0" || pids[1].GetId() != "actornet/poller/1" {
		t.Fatalf("PollerPIDs = %v; want actornet/poller/0 and /1", pids)
	}
	s, peer := pair(t, sys)
	f := s.PollAsync(PollRead, 0) // pending: the byte comes by a Ready
	mustWrite(t, peer, []byte("x"))
	if res, err := f.Wait(testCtx(t)); err != nil || res.GetStatus() != PollEvent {
		t.Fatalf("Poll = %v, %v", res, err)
	}
	var readable, regs uint64
	for i, pid := range pids {
		st := pollerStats(t, sys, pid)
		if st.GetName() != pid.GetId() {
			t.Errorf("poller %d calls itself %q", i, st.GetName())
		}
		readable += st.GetReadable()
		regs += st.GetRegistrations()
		if st.GetReadable() > 0 && st.GetBlockingWaits()+st.GetPolls() == 0 {
			t.Errorf("poller %d delivered with no wait counted: %v", i, st)
		}
	}
	if readable == 0 || regs != 1 {
		t.Fatalf("pollers delivered %d readable, watch %d fds; want some and 1", readable, regs)
	}
	m := sys.Metrics()
	if len(m.Pollers) != 2 || m.Pollers[0].Name != "actornet/poller/0" || m.Pollers[0].Registrations+m.Pollers[1].Registrations != 1 {
		t.Fatalf("Metrics().Pollers = %+v", m.Pollers)
	}
}

// A poller stopped by a message: watchers hear it, its sockets close with
// an error naming it, and new sockets go to the other poller.
func TestPollerStopIsWatchedAndClosesItsSockets(t *testing.T) {
	sys := newSystem(t, WithPollers(2))
	pids := sys.PollerPIDs()
	var socks []*Socket
	for range 2 {
		s, _ := pair(t, sys) // round robin: one on each poller
		socks = append(socks, s)
	}
	pending := make([]*Future[*messages.PollResult], len(socks))
	for i, s := range socks {
		pending[i] = s.PollAsync(PollRead, 0)
	}
	terminated := watch(t, sys, pids[0])
	sys.Root().Stop(pids[0])
	select {
	case m := <-terminated:
		if !m.GetWho().Equal(pids[0]) {
			t.Fatalf("Terminated for %v", m.GetWho())
		}
	case <-time.After(testTimeout):
		t.Fatal("the watcher never heard that the poller stopped")
	}
	answers := make(chan error, len(pending))
	for _, f := range pending {
		go func() {
			res, err := f.Wait(testCtx(t))
			if err == nil {
				err = res.Err()
			}
			answers <- err
		}()
	}
	wantPollerError(t, <-answers, "actornet/poller/0", "stopped")
	if load := sys.Pollers(); load[0] != 0 || load[1] != 1 {
		t.Fatalf("fds per poller = %v; want [0 1]", load)
	}
	s, peer := pair(t, sys)
	mustWrite(t, peer, []byte("x"))
	if st, err := s.Poll(testCtx(t), PollRead); st != PollEvent {
		t.Fatalf("a new socket after the stop: Poll = %v, %v", st, err)
	}
	if load := sys.Pollers(); load[1] != 2 {
		t.Fatalf("fds per poller = %v; want both on poller 1", load)
	}
	// The poll on the running poller was still pending: closing its
	// socket cancels it.
	for _, s := range socks {
		_ = s.Close(testCtx(t))
	}
	if err := <-answers; !errors.Is(err, socket.ErrCancelled) {
		t.Fatalf("the other pending poll = %v; want cancelled at Close", err)
	}
}

// A poller whose loop fails: its sockets answer their pending requests
// with an error naming it and close, the failure is published, and a fresh
// loop serves new sockets under the same PID.
func TestPollerFailureClosesItsSocketsAndRestarts(t *testing.T) {
	sys := newSystem(t, WithPollers(1), WithFaultInjection())
	events := pollerEvents(t, sys)
	pid := sys.PollerPIDs()[0]
	terminated := watch(t, sys, pid)
	var peers []*socket.Socket
	var pending []*Future[*messages.PollResult]
	for range 3 {
		s, peer := pair(t, sys)
		peers = append(peers, peer)
		pending = append(pending, s.PollAsync(PollRead, 0))
	}
	before := sys.Metrics().Pollers[0]
	res, err := sys.Root().RequestFuture(pid, &messages.InjectFault{}, testTimeout).Result()
	if st, ok := res.(*messages.Status); err != nil || !ok || st.Err() != nil {
		t.Fatalf("InjectFault = %v, %v", res, err)
	}
	for _, f := range pending {
		res, err := f.Wait(testCtx(t))
		if err != nil {
			t.Fatalf("pending poll: %v", err)
		}
		wantPollerError(t, res.Err(), "actornet/poller/0", "fault injected")
	}
	for _, peer := range peers {
		waitEOF(t, peer)
	}
	select {
	case e := <-events:
		if e.GetPoller() != "actornet/poller/0" || e.GetSockets() != 3 || !strings.Contains(e.GetError(), "fault injected") {
			t.Fatalf("PollerFailed = %v", e)
		}
	case <-time.After(testTimeout):
		t.Fatal("no PollerFailed published")
	}
	// Asked after the failure, the answer comes from the restarted actor.
	st := pollerStats(t, sys, pid)
	if st.GetRestarts() != 1 || st.GetRegistrations() != 0 {
		t.Fatalf("stats after the failure = %v; want 1 restart, no fds", st)
	}
	// Counters only grow: the failed loop's counts stay in the actor's.
	if st.GetBlockingWaits()+st.GetPolls() < before.BlockingWaits+before.Polls {
		t.Fatalf("waits went back from %d to %d across the restart", before.BlockingWaits+before.Polls, st.GetBlockingWaits()+st.GetPolls())
	}
	s, peer := pair(t, sys)
	mustWrite(t, peer, []byte("x"))
	if st, err := s.Poll(testCtx(t), PollRead); st != PollEvent {
		t.Fatalf("a new socket after the failure: Poll = %v, %v", st, err)
	}
	select {
	case m := <-terminated:
		t.Fatalf("a restarted poller was reported terminated: %v", m)
	default:
	}
	if n := sys.Sockets(); n != 1 {
		t.Fatalf("%d socket actors live; want the new one only", n)
	}
}

// A poller that keeps failing is stopped by its supervisor: watchers hear
// it, and new sockets get an error rather than a dead poller.
func TestPollerSupervisorGivesUp(t *testing.T) {
	sys := newSystem(t, WithPollers(1), WithFaultInjection())
	events := pollerEvents(t, sys)
	pid := sys.PollerPIDs()[0]
	terminated := watch(t, sys, pid)
	for failures := 0; ; {
		sys.Root().Send(pid, &messages.InjectFault{})
		select {
		case <-events:
			if failures++; failures > 20 {
				t.Fatal("the poller was restarted more than 20 times")
			}
			continue
		case <-terminated:
		case <-time.After(testTimeout):
			t.Fatal("neither a failure nor a stop")
		}
		if failures != 11 {
			t.Fatalf("stopped after %d failures; want 11 (10 restarts a minute)", failures)
		}
		break
	}
	// No poller is left: a new socket actor cannot watch its fd, and says
	// so rather than wait for ever.
	s, err := SpawnSocket(sys, mustPairEnd(t))
	if err == nil {
		_, err = s.Poll(testCtx(t), PollRead)
	}
	if err == nil {
		t.Fatal("a socket with no poller to watch it polled fine")
	}
}

func mustPairEnd(t *testing.T) *socket.Socket {
	t.Helper()
	a, b, err := socket.Pair(socket.Stream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return a
}

func TestPollerRefusesInjectFaultByDefault(t *testing.T) {
	sys := newSystem(t)
	res, err := sys.Root().RequestFuture(sys.PollerPIDs()[0], &messages.InjectFault{}, testTimeout).Result()
	st, ok := res.(*messages.Status)
	if err != nil || !ok || !errors.Is(st.Err(), socket.ErrInvalidArgument) {
		t.Fatalf("InjectFault = %v, %v; want invalid_argument", res, err)
	}
}
