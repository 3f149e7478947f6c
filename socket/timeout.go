package socket

import (
	"context"
	"os"
)

// ErrTimeout is the cause of every expired deadline in actornet, whether
// the socket actor's timer or the caller's context ran out first: one
// event, one error. errors.Is matches it with both os.ErrDeadlineExceeded
// (as Go's net reports I/O deadlines) and context.DeadlineExceeded (as a
// context reports its own), and it is a net.Error whose Timeout is true.
var ErrTimeout error = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// Is reports whether target is one of the errors a timeout also is.
func (timeoutError) Is(target error) bool {
	return target == os.ErrDeadlineExceeded || target == context.DeadlineExceeded
}
