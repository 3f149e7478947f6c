package core

import (
	"testing"

	"github.com/actornet/actornet/test/testkit/codelayout"
)

// TestEventPathIsContiguous checks that the functions of path.go are the
// ones listed here, and lie together in the binary with no other function
// between them (see path.go).
func TestEventPathIsContiguous(t *testing.T) {
	codelayout.Contiguous(t, []string{"path.go"},
		(*inlineMailbox).PostUserMessage, (*inlineMailbox).post,
		(*inlineMailbox).idleLocked, (*inlineMailbox).run,
		(*inlineMailbox).invokeUser, (*inlineMailbox).recover,
		(*Core).onReady, (*Core).ready, (*Core).UpdateWants,
		(*HandlerHost).Deliver, (*HandlerHost).call,
		(*Core).WriteNow, (*Core).Count,
	)
}
