package core

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/poller"
	"github.com/actornet/actornet/socket"
)

// recordingInvoker records what the mailbox hands the actor, and panics on
// the string "panic".
type recordingInvoker struct {
	mu       sync.Mutex
	user     []any
	system   []any
	failures []any
	onUser   func(any)
}

func (r *recordingInvoker) InvokeSystemMessage(m interface{}) {
	r.mu.Lock()
	r.system = append(r.system, m)
	r.mu.Unlock()
}

func (r *recordingInvoker) InvokeUserMessage(m interface{}) {
	if m == "panic" {
		panic("boom")
	}
	r.mu.Lock()
	r.user = append(r.user, m)
	r.mu.Unlock()
	if r.onUser != nil {
		r.onUser(m)
	}
}

func (r *recordingInvoker) EscalateFailure(reason interface{}, _ interface{}) {
	r.failures = append(r.failures, reason)
}

func newTestMailbox() (*inlineMailbox, *recordingInvoker) {
	mb, inv := &inlineMailbox{}, &recordingInvoker{}
	mb.RegisterHandlers(inv, nil)
	return mb, inv
}

func TestInlineMailboxRunsInOrderOnThePoster(t *testing.T) {
	mb, inv := newTestMailbox()
	// A message posted while the actor runs (re-entrantly, as an actor
	// sending to itself) is queued and run after, in order, by the same loop.
	inv.onUser = func(m any) {
		if m == 1 {
			mb.PostUserMessage(3)
		}
	}
	mb.PostUserMessage(1)
	mb.PostUserMessage(2)
	want := []any{1, 3, 2}
	if len(inv.user) != 3 || inv.user[0] != want[0] || inv.user[1] != want[1] || inv.user[2] != want[2] {
		t.Fatalf("order = %v; want %v", inv.user, want)
	}
}

func TestInlineMailboxSuspendResume(t *testing.T) {
	mb, inv := newTestMailbox()
	mb.PostSystemMessage(&actor.SuspendMailbox{})
	mb.PostUserMessage("held")
	if len(inv.user) != 0 || mb.UserMessageCount() != 1 {
		t.Fatalf("a suspended mailbox ran %v", inv.user)
	}
	mb.PostSystemMessage(&actor.ResumeMailbox{})
	if len(inv.user) != 1 || mb.UserMessageCount() != 0 {
		t.Fatalf("resume did not run the held message: %v", inv.user)
	}
}

func TestInlineMailboxEscalatesPanicsAndGoesOn(t *testing.T) {
	mb, inv := newTestMailbox()
	mb.PostUserMessage("panic")
	mb.PostUserMessage("after")
	if len(inv.failures) != 1 || inv.failures[0] != "boom" {
		t.Fatalf("failures = %v; want the panic escalated once", inv.failures)
	}
	if len(inv.user) != 1 || inv.user[0] != "after" {
		t.Fatalf("user = %v; the mailbox stopped after a panic", inv.user)
	}
}

func TestInlineMailboxAnswersCallsAfterStop(t *testing.T) {
	mb, inv := newTestMailbox()
	mb.stopped()
	f := &answers{}
	mb.PostUserMessage(&Call{Msg: &messages.Poll{Op: messages.PollOp_POLL_OP_READ}, Reply: f})
	mb.PostUserMessage("dropped")
	res, ok := any(nil).(*messages.PollResult)
	if len(f.got) == 1 {
		res, ok = f.got[0].(*messages.PollResult)
	}
	if !ok || res.GetStatus() != messages.PollStatus_POLL_STATUS_CLOSED || !errors.Is(res.Err(), net.ErrClosed) {
		t.Fatalf("Call after stop answered %v; want closed", f.got)
	}
	if len(inv.user) != 0 {
		t.Fatalf("a stopped actor received %v", inv.user)
	}
}

func TestRingGrowsAndWraps(t *testing.T) {
	var r ring
	next, want := 0, 0
	for round := 0; round < 50; round++ {
		for i := 0; i < round%7+1; i++ {
			r.push(next)
			next++
		}
		for i := 0; i < round%5+1 && r.len() > 0; i++ {
			if got := r.pop(); got != want {
				t.Fatalf("pop = %v; want %v", got, want)
			}
			want++
		}
	}
	for r.len() > 0 {
		if got := r.pop(); got != want {
			t.Fatalf("pop = %v; want %v", got, want)
		}
		want++
	}
	if want != next {
		t.Fatalf("popped %d of %d", want, next)
	}
}

// TestInlineMailboxRunsOnTheSender: an actor on the inline mailbox has handled a
// message by the time Send returns, and still handles one at a time when
// several goroutines send at once.
func TestInlineMailboxRunsOnTheSender(t *testing.T) {
	sys := newSystem(t)
	var handled, inside atomic.Int64
	var overlap atomic.Bool
	pid := sys.Root().Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(int); ok {
			if inside.Add(1) != 1 {
				overlap.Store(true)
			}
			handled.Add(1)
			inside.Add(-1)
		}
	}, actor.WithMailbox(NewInlineMailbox)))
	sys.Root().Send(pid, 1)
	if handled.Load() != 1 {
		t.Fatalf("handled %d messages when Send returned, want 1", handled.Load())
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				sys.Root().Send(pid, i)
			}
		}()
	}
	wg.Wait()
	// Every Send has returned: each message was either run by its sender
	// or queued for the goroutine already running the actor, which drains
	// the queue before it returns from its own Send.
	if handled.Load() != 4001 || overlap.Load() {
		t.Fatalf("handled %d of 4001, overlap %v", handled.Load(), overlap.Load())
	}
	sys.Root().Stop(pid)
}

// A direct turn (Core.Turn) runs only where a posted message would run at
// once: an idle, empty, live mailbox. Then what is posted during the turn
// runs after it, in order, on the same goroutine; a panic in it is
// escalated as one in Receive is.
func TestInlineMailboxTurn(t *testing.T) {
	mb, inv := newTestMailbox()
	var ran []string
	if !mb.turn("cmd", func() {
		ran = append(ran, "turn")
		mb.PostUserMessage("during") // the poller's Ready, say: queued
		if len(inv.user) != 0 {
			t.Error("a message posted during the turn ran inside it")
		}
	}) {
		t.Fatal("an idle mailbox refused the turn")
	}
	if len(ran) != 1 || len(inv.user) != 1 || inv.user[0] != "during" {
		t.Fatalf("turn ran %v, then the mailbox %v; want the turn, then what came during it", ran, inv.user)
	}
	// InTurn (what a pool of requests asks before reusing one the actor
	// answered): true inside a turn, false once it and what came during it
	// have run.
	c := &Core{mb: mb}
	mb.turn("cmd", func() {
		if !c.InTurn() {
			t.Error("InTurn false inside a turn")
		}
	})
	if c.InTurn() {
		t.Error("InTurn true after the turn")
	}
	if !(&Core{}).InTurn() {
		t.Error("InTurn false for a core without the inline mailbox (it cannot tell)")
	}

	// Busy: another turn holds the actor, so a nested one must be refused
	// (its caller sends a message instead, which runs in order after).
	mb.turn("outer", func() {
		if mb.turn("inner", func() { t.Error("a turn ran inside another") }) {
			t.Error("a busy mailbox gave a turn")
		}
	})
	// Messages waiting (suspended: held) go first: no turn overtakes them.
	mb.PostSystemMessage(&actor.SuspendMailbox{})
	mb.PostUserMessage("held")
	if mb.turn("cmd", func() { t.Error("a turn overtook a held message") }) {
		t.Error("a suspended mailbox gave a turn")
	}
	mb.PostSystemMessage(&actor.ResumeMailbox{})

	// A handler that dies before it answers: the failure is escalated
	// and the request answered closed, so its caller does not wait for
	// ever.
	f := &answers{}
	call := &Call{Msg: &messages.Poll{Op: messages.PollOp_POLL_OP_READ}, Reply: f}
	if !mb.turn(call, func() { panic("boom") }) {
		t.Fatal("refused after resume")
	}
	if len(inv.failures) != 1 || inv.failures[0] != "boom" {
		t.Fatalf("failures = %v; want the turn's panic escalated", inv.failures)
	}
	if len(f.got) != 1 || f.got[0].(*messages.PollResult).GetStatus() != messages.PollStatus_POLL_STATUS_CLOSED {
		t.Fatalf("the request of a turn that panicked was answered %v; want closed", f.got)
	}
	mb.stopped()
	if mb.turn("cmd", func() { t.Error("a stopped actor ran a turn") }) {
		t.Error("a stopped mailbox gave a turn")
	}
}

// A Ready goes to the socket actor's core (its Hooks), never through its
// Receive; one for a registration the core no longer has is dropped.
func TestInlineMailboxReadyGoesToTheCore(t *testing.T) {
	mb, inv := newTestMailbox()
	var heard []poller.Direction
	c := &Core{reg: &poller.Registration{}, proto: Hooks{OnReady: func(d poller.Direction) { heard = append(heard, d) }}}
	mb.core = c
	mb.PostUserMessage(&poller.Ready{Reg: c.reg, Dir: poller.Writable})
	mb.PostUserMessage(&poller.Ready{Reg: &poller.Registration{}, Dir: poller.Readable}) // an old registration's
	mb.PostUserMessage("command")
	if len(heard) != 1 || heard[0] != poller.Writable {
		t.Fatalf("the core's Ready hook heard %v; want [Writable]", heard)
	}
	if len(inv.user) != 1 || inv.user[0] != "command" {
		t.Fatalf("Receive got %v; want only the command", inv.user)
	}
}

// TestSocketPropsMailboxBesideItsCore: a socket actor's mailbox is the one
// allocated with its core (coreBlock), one per spawn of reusable props;
// the refused second spawn of props that own a socket runs on a mailbox
// of its own and leaves the first actor's alone.
func TestSocketPropsMailboxBesideItsCore(t *testing.T) {
	sys := newSystem(t)
	var cores []*Core
	props := SocketProps(sys, nil, func(c *Core) (SocketActor, Protocol) {
		cores = append(cores, c)
		return &socketActor{core: c}, nil
	})
	a, b, err := socket.Pair(socket.Stream)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	owning := SocketProps(sys, a, func(c *Core) (SocketActor, Protocol) {
		cores = append(cores, c)
		return &socketActor{core: c}, nil
	})
	var pids []*actor.PID
	for _, p := range []*actor.Props{props, props, owning, owning} {
		pid, err := sys.SpawnSocketActor(p)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if len(cores) != 3 {
		t.Fatalf("%d cores built; want 3 (the refused spawn builds none)", len(cores))
	}
	for i, c := range cores {
		if own := &(*coreBlock)(unsafe.Pointer(c)).mb; c.mb != own || c.mb.core != c {
			t.Errorf("actor %d runs on a mailbox apart from its core (%p, its own is %p), or one linked to another core", i, c.mb, own)
		}
	}
	for _, pid := range pids {
		if err := sys.Root().StopFuture(pid).Wait(); err != nil {
			t.Fatal(err)
		}
	}
}
