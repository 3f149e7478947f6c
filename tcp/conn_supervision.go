package tcp

// Supervision of a connection's handler: the handler runs inside the
// connection actor, so a panic is caught there and handed to the server's
// handler strategy (WithHandlerSupervisor) as if the handler were a child
// actor. Restart builds a fresh handler on the same socket; stop closes the
// connection; resume goes on with the same handler.

import (
	"github.com/asynkron/protoactor-go/actor"
)

// handlerSupervisor is the actor.Supervisor the strategy acts through.
type handlerSupervisor struct{ a *connActor }

var _ actor.Supervisor = handlerSupervisor{}

func (s handlerSupervisor) Children() []*actor.PID { return []*actor.PID{s.a.self} }

func (s handlerSupervisor) EscalateFailure(any, any) { s.a.stopHandler() }

func (s handlerSupervisor) RestartChildren(...*actor.PID) { s.a.restartHandler() }

func (s handlerSupervisor) StopChildren(...*actor.PID) { s.a.stopHandler() }

func (s handlerSupervisor) ResumeChildren(...*actor.PID) {}

// failed hands a handler panic to the strategy.
func (a *connActor) failed(reason, msg any) {
	x := a.extra()
	if x.rs == nil {
		x.rs = actor.NewRestartStatistics()
	}
	a.cfg.strategy.HandleFailure(a.ctx.ActorSystem(), handlerSupervisor{a}, a.self, x.rs, reason, msg)
}

// restartHandler replaces the handler with a fresh one, which starts with
// Connected (after Started, for an actor handler). Buffers the old handler
// retained are taken back.
func (a *connActor) restartHandler() {
	if a.beh == nil || a.mode == closedConn {
		return
	}
	a.dropLoans()
	a.paused = false
	a.beh = newBehaviour(a.cfg.handler)
	a.lifecycle(startedEvent)
	a.deliver(a.connected(), nil)
	a.kick()
}

// stopHandler ends the connection: without its handler nobody serves it.
func (a *connActor) stopHandler() {
	if a.beh == nil {
		return
	}
	a.terminate(a.ctx)
}
