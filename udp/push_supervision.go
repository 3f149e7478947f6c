package udp

// Supervision of a push-mode peer's handler: the handler runs inside the
// peer actor, so a panic is caught there and handed to the peer's handler
// strategy (WithHandlerSupervisor) as if the handler were a child actor.
// Restart builds a fresh handler on the same socket; stop closes the peer;
// resume goes on with the same handler.

import (
	"github.com/asynkron/protoactor-go/actor"
)

// handlerSupervisor is the actor.Supervisor the strategy acts through.
type handlerSupervisor struct{ a *peerActor }

var _ actor.Supervisor = handlerSupervisor{}

func (s handlerSupervisor) Children() []*actor.PID { return []*actor.PID{s.a.core.Self()} }

func (s handlerSupervisor) EscalateFailure(any, any) { s.a.stopHandler() }

func (s handlerSupervisor) RestartChildren(...*actor.PID) { s.a.restartHandler() }

func (s handlerSupervisor) StopChildren(...*actor.PID) { s.a.stopHandler() }

func (s handlerSupervisor) ResumeChildren(...*actor.PID) {}

// failed hands a handler panic to the strategy.
func (a *peerActor) failed(reason, msg any) {
	if a.rs == nil {
		a.rs = actor.NewRestartStatistics()
	}
	a.push.strategy.HandleFailure(a.ctx.ActorSystem(), handlerSupervisor{a}, a.core.Self(), a.rs, reason, msg)
}

// restartHandler replaces the handler with a fresh one (which gets
// Started first, for an actor handler). Buffers the old handler retained
// are taken back.
func (a *peerActor) restartHandler() {
	if a.beh == nil || a.ended {
		return
	}
	a.dropLoans()
	a.paused = false
	a.beh = newBehaviour(a.push.handler)
	a.lifecycle(startedEvent)
	a.kick()
}

// stopHandler closes the peer: without its handler nobody serves it.
func (a *peerActor) stopHandler() {
	if a.beh == nil {
		return
	}
	a.terminate()
}
