package tcp

import (
	"fmt"
	"net"

	"github.com/actornet/actornet/socket"
)

var (
	errInvalid   = socket.ErrInvalidArgument
	errCancelled = socket.ErrCancelled
)

// errClosedConn refuses a Write on a connection that is closing.
var errClosedConn = net.ErrClosed

// errPushMode refuses Accept on a push-mode listener, which accepts by
// itself.
var errPushMode = fmt.Errorf("%w: push-mode listener accepts by itself", socket.ErrInvalidArgument)
