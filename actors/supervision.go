package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors/core"
)

// StoppingDecider stops a failed child, whatever the failure: the decider
// for socket actors, whose fd cannot be rebuilt by a restart.
func StoppingDecider(reason any) actor.Directive { return core.StoppingDecider(reason) }

// StoppingStrategy returns the supervisor strategy that stops failed
// children. Parents of socket actors use it; socket actors spawned from the
// root get it as their guardian. A socket actor also closes itself if a
// parent restarts it anyway, so the invariant "stop, never restart" holds
// under any strategy.
func StoppingStrategy() actor.SupervisorStrategy { return core.StoppingStrategy() }
