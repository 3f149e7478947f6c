// Package tcp will hold actornet's TCP actors: the client actor
// (Connect, Send, Recv, RecvExact), the listener actor (Listen, Accept and
// push mode with handler actors), the connection actor, and the net.Conn
// and net.Listener adapters over them. They are built on actors.Core.
//
// Not built yet: this package has no code. The work is tracked as the TCP
// issue; until it lands, use actors.SpawnSocket for a socket actor that
// answers Poll, Shutdown, SetBlocking and Close.
package tcp
