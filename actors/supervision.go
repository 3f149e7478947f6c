package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// StoppingDecider stops a failed child, whatever the failure: the decider
// for socket actors, whose fd cannot be rebuilt by a restart.
func StoppingDecider(any) actor.Directive { return actor.StopDirective }

// stoppingStrategy is shared so all root-spawned socket actors share one
// guardian.
var stoppingStrategy = actor.NewOneForOneStrategy(0, time.Second, StoppingDecider)

// StoppingStrategy returns the supervisor strategy that stops failed
// children. Parents of socket actors use it; socket actors spawned from the
// root get it as their guardian. A socket actor also closes itself if a
// parent restarts it anyway, so the invariant "stop, never restart" holds
// under any strategy.
func StoppingStrategy() actor.SupervisorStrategy { return stoppingStrategy }
