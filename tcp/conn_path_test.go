package tcp

import (
	"testing"

	"github.com/actornet/actornet/test/testkit/codelayout"
)

// TestEventPathIsContiguous checks that the functions of conn_path.go and
// conn_path_tls.go are the ones listed here, and lie together in the
// binary with no other function between them: the layout conn_path.go
// explains. A function added to those files must be listed; one moved out
// of them, or listed without being there, fails it.
func TestEventPathIsContiguous(t *testing.T) {
	codelayout.Contiguous(t, []string{"conn_path.go", "conn_path_tls.go"},
		// conn_path.go
		(*connActor).Ready, (*connActor).serveReads, (*connActor).deliverPending,
		(*connActor).readable, (*connActor).Wants, (*connActor).readNext,
		(*connActor).readInto, (*connActor).lend, (*bufPool).get, (*bufPool).put,
		(*connActor).deliver, (*connActor).HandleMessage, (*plain).receive,
		HandlerFunc.Receive, (*Conn).Write, (*Conn).WriteAck, (*Conn).check,
		(*connActor).write, (*connActor).written, (*connActor).checkFilled,
		// conn_path_tls.go
		(*tlsLayer).mayHold, (*tlsLayer).read, (*tlsLayer).dry,
		(*inTracker).idle, (*tlsLayer).established, tlsTransport.Read,
		(*connActor).rawRead, (*recordCount).feed, (*connActor).rawDrained,
		(*connActor).writeTLS, (*tlsLayer).write, tlsTransport.Write,
		(*connActor).rawWrite,
	)
}
