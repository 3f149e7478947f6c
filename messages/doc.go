// Package messages holds every command, event and status that crosses an
// actornet socket actor's mailbox, as protobuf messages, so a socket actor
// can be driven from another node through Proto.Actor remote. The .pb.go
// files are generated from the .proto files beside them by
// `go generate ./...` and committed.
//
// Naming: commands are imperative (Poll, Connect, Write), events are past
// tense (Connected, Received, PeerClosed), and each request has one answer:
// a *Result message, or Status for commands with nothing else to return.
//
// The hand-written helpers convert between the wire and Go: Endpoint and
// netip.AddrPort (NewEndpoint, Endpoint.AddrPort), Ref and actor.PID,
// errors and statuses (StatusOf, Classify, Status.Err, PollResult.Err),
// and Rejection, the answer to a request that failed before it could run.
//
// The package builds on Linux, macOS, Windows and the BSDs (it imports
// only socket's portable vocabulary), so a node on macOS or Windows can
// drive Linux socket actors. A Status carries the errno number of the OS that
// classified it; Status.Err reads it by its code where this OS numbers
// errors differently.
//
//	st := messages.StatusOf("recv", "tcp4", addr, syscall.ECONNRESET)
//	// st.Code == IOStatus_IO_STATUS_CONNECTION_RESET, st.Errno == 104 (Linux)
//	err := st.Err() // errors.Is(err, syscall.ECONNRESET) == true
package messages
