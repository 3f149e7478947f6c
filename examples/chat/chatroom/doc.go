// Package chatroom is examples/chat's cluster mode: a chat room that is a
// Proto.Actor cluster identity (kind "room"), whose members are actornet
// connection actors on any node of the cluster.
//
//	sys, err := actors.Start(actors.WithCluster(actors.ClusterConfig{
//		Name: "chat", Node: "127.0.0.1:7100",
//		Seeds: []string{"127.0.0.1:7100", "127.0.0.1:7200", "127.0.0.1:7300"},
//		Kinds: chatroom.Kinds(),
//	}))
//	...
//	srv, err := chatroom.Serve(ctx, sys, "127.0.0.1:7000", "lobby")
//
// Who lives where: a connection's socket and its handler (a member) stay
// on the node that accepted it. The room is activated by the cluster on
// one member node (disthash: rendezvous hashing over the members), and
// keeps its members' connection PIDs; it sends each line to each
// member's PID, wherever it lives. Each node has a door per room: it
// looks the room's activation up (cluster.Get, off its mailbox), watches
// it, and tells the node's members where it is. Everything between nodes
// is protobuf (chatroom.proto: Join, Say, Leave, Delivered, Relay, Acked,
// Left).
//
// What a client is owed: the welcome when it joins; every line the room
// relays between its join and its leave, once each, each speaker's in
// the order said, its own included (the copy of its own line is its
// receipt); the farewell counting its own lines relayed. Within one
// activation every member sees the lines in one order (the room's).
//
// When the room's node dies: the activation is gone with its membership.
// Each door sees its watch end (Terminated, address terminated), waits
// until the dead node has left the topology (the membership provider
// polls every actors.DefaultClusterRefresh, 500 ms; the door waits at
// most 5 s), and looks the room up again: the lookup activates it, empty, on a
// surviving member. Each member then joins it again (silently: no
// "joined" notice), naming the members it knew; the new activation seats
// them all at once, so it acknowledges no line before every one of them
// has it; those on a node that has left died with it, and the new
// activation tells the others so, once ("* NAME left"). A member on a
// node that dies while the room lives elsewhere leaves by the room's
// watch on its seat. A
// node that leaves gracefully (System.Stop) goes the same way, and so
// does a room that moves because a member joined (the door then waits at
// most a second for its old node to leave the topology).
//
// Nothing acknowledged to a surviving client is lost: a member keeps each
// line its client said until the room acknowledges it (Acked), which the
// room does only once every seated member has written the line to its
// connection (Delivered); lines not yet acknowledged are sent again to
// the new activation, and a member drops a line it has already written
// (by speaker and line number), so a resent line is written once. A
// surviving client's line is therefore delivered to every surviving
// member, whether it was said before, during or after the move.
//
// The loss window is the dying node's own: lines its clients said (their
// connections die with it) that the room, on that node, was relaying
// when it died may reach some surviving clients and not others (the
// relays still in the dying node's buffers are lost), and a join or leave
// notice in flight may be lost. For a room whose node survives, a client
// on a dying node loses only what it said that its member had not yet
// passed on.
//
// Bounds: a member keeps MaxUnacked lines (and those of the read that
// crossed it); past that it stops reading its client until
// acknowledgements come. The room's lines not
// yet written everywhere are bounded by the members' MaxUnacked each.
//
// Known limits of the pinned Proto.Actor: disthash activates an identity
// wherever it is asked to, so a node whose topology lags may activate a
// second room on a node that no longer owns it; the doors look again at
// every topology change and converge on the owner's activation, and the
// stray activation lives until its node's next topology change. While
// two activations run, members in different ones do not hear each
// other, and a line the stray one acknowledged (every member it seated
// had it) is not sent again: that is the second loss window, open only
// while nodes disagree on the topology (a node joining or leaving, for
// about one provider refresh).
package chatroom
