// Package tcp holds actornet's TCP actors and their Go handles.
//
// Client is a TCP client actor (one connection): Connect with a status
// (connected, invalid_address, timeout, refused, error) cached for every
// later Connect; Send, which writes everything and reports partial
// progress on timeout; Recv and RecvExact, served in order from one queue
// while sends flow from another, so a reader and a writer can be in flight
// at once; Poll, Shutdown, Abort and Close from actors.Core. Every call has
// a blocking form taking a context and an Async form returning the typed
// future, for use inside actors.
//
//	c, err := tcp.Dial(ctx, sys, "127.0.0.1:7000")
//	if err != nil {
//		return err
//	}
//	defer c.Close(ctx)
//	if _, err := c.Send(ctx, []byte("ping"), time.Second); err != nil {
//		return err
//	}
//	pong, err := c.RecvExact(ctx, 4, time.Second)
//
// Still to come (the TCP issue): the listener actor with Accept and push
// mode, the connection actor, and the net.Conn and net.Listener adapters.
package tcp
