package core

import (
	"errors"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// socketActor is a socket actor with only the shared commands: the actor
// for a socket pair, or any socket a caller just wants to poll.
type socketActor struct {
	core *Core
}

var _ SocketActor = (*socketActor)(nil)

func (a *socketActor) Receive(ctx actor.Context) { a.core.Receive(ctx, nil) }

func (a *socketActor) SocketCore() *Core { return a.core }

// SocketProps returns the props of a socket actor that owns sock (nil for
// an actor that attaches its socket later): the actor runs on an inline
// mailbox (see inlineMailbox) and is stopped, never restarted, when it
// fails. newActor builds the actor around its core and returns the
// Protocol through which the core drives it: the actor itself, Hooks, or
// nil for none. Spawn the props as a child of a supervising actor, or at
// the top level with Runtime.SpawnSocketActor.
//
// Props without a socket are reusable: each spawn builds a new actor
// with its own core. Props that own a socket spawn one actor: a second
// spawn gets an actor that logs the mistake and stops at once, answering
// every request as closed, so the first socket is never touched.
func SocketProps(rt *Runtime, sock *socket.Socket, newActor func(*Core) (SocketActor, Protocol)) *actor.Props {
	var spawned atomic.Bool
	// made is the mailbox of the core just built: Proto.Actor's spawn
	// makes the actor, then asks for its mailbox, on one goroutine. Two
	// spawns of the same props at once may take each other's (harmless:
	// RegisterHandlers links a mailbox to the actor it runs, and Swap
	// gives each mailbox to one spawn); a spawn that finds none gets a
	// mailbox of its own.
	var made atomic.Pointer[inlineMailbox]
	return actor.PropsFromProducer(func() actor.Actor {
		if sock != nil && spawned.Swap(true) {
			return refusedActor{}
		}
		core := newCore(rt, sock)
		a, p := newActor(core)
		if p != nil {
			core.proto = p
		}
		made.Store(core.ownMailbox)
		core.ownMailbox = nil
		return a
	},
		actor.WithMailbox(func() actor.Mailbox {
			if m := made.Swap(nil); m != nil {
				return m
			}
			return NewInlineMailbox()
		}),
		actor.WithSupervisor(StoppingStrategy()),
	)
}

// refusedActor is what a second spawn of single-socket props gets: it
// stops at once, and its mailbox answers requests as closed.
type refusedActor struct{}

// ErrPropsSpawned is the error logged when props that own a socket are
// spawned a second time.
var ErrPropsSpawned = errors.New("actornet: socket props spawned twice: they own one socket, so the second actor stops")

func (refusedActor) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Started); ok {
		ctx.Logger().Error(ErrPropsSpawned.Error(), "pid", ctx.Self().String())
		ctx.Stop(ctx.Self())
		return
	}
	if cmd, reply, ok := RequestOf(ctx); ok {
		Reject(reply, cmd, messages.IOStatus_IO_STATUS_CLOSED)
	}
}

// PlainActor returns a socket actor with only the shared commands, built
// around c: for SocketProps' newActor.
func PlainActor(c *Core) SocketActor { return &socketActor{core: c} }

// PlainProps returns the props of a socket actor with only the shared
// commands (Poll, Shutdown, SetBlocking, GetInfo, Close) that owns sock.
func PlainProps(rt *Runtime, sock *socket.Socket) *actor.Props {
	return SocketProps(rt, sock, func(c *Core) (SocketActor, Protocol) { return &socketActor{core: c}, nil })
}
