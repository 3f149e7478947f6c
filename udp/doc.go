// Package udp will hold actornet's UDP peer actor (bound or send-only,
// SendTo, RecvFrom with truncation reported, connected mode, broadcast and
// multicast, push mode) and the net.PacketConn adapter over it. It is built
// on actors.Core.
//
// Not built yet: this package has no code. The work is tracked as the UDP
// issue.
package udp
