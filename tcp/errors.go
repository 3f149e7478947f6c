package tcp

import (
	"fmt"
	"net"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

var (
	errInvalid   = socket.ErrInvalidArgument
	errCancelled = socket.ErrCancelled
)

// causeOf is the Go error a status code stands for.
func causeOf(code messages.IOStatus) error {
	switch code {
	case messages.IOStatus_IO_STATUS_CANCELLED:
		return socket.ErrCancelled
	case messages.IOStatus_IO_STATUS_CLOSED:
		return net.ErrClosed
	}
	return (&messages.Status{Code: code}).Err()
}

// errClosedConn refuses a Write on a connection that is closing.
var errClosedConn = net.ErrClosed

// errPushMode refuses Accept on a push-mode listener, which accepts by
// itself.
var errPushMode = fmt.Errorf("%w: push-mode listener accepts by itself", socket.ErrInvalidArgument)
