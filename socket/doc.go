// Package socket is actornet's system-call layer: non-blocking, close-on-exec
// IPv4, IPv6 and Unix-domain sockets with blocking mode, shutdown,
// idempotent close, bind/listen/connect/accept, stream and datagram I/O,
// options, and netip.AddrPort conversion. Unix sockets bind to a path
// (BindUnix: a stale socket file is replaced, a live one refused) or a name
// in Linux's abstract namespace ("@name"), and report their peer's
// credentials (PeerCred). It starts no goroutines and knows nothing of
// actors; a Socket belongs to one owner at a time (in actornet, the socket
// actor).
//
// The vocabulary builds on every OS, as Go's net splits tcpsock.go from
// tcpsock_posix.go: OpError, AddrError, HostError and the sentinel errors,
// Domain, Type, How, Op, Options, ParseHostPort and ParseLocal are in files
// with no build constraint, so the messages package (and a node on macOS
// or Windows) can import them. Socket and every system call are in the
// *_unix.go files (Linux, macOS, FreeBSD), with each OS's own in
// *_linux.go and *_bsd.go.
//
// Setup calls (Open, Bind, Listen, Connect, options) return *OpError. The
// data-path calls (Read, Write, SendTo, RecvFrom, Accept) return the bare
// errno so that the EAGAIN of every readiness edge costs no allocation; the
// actor layer wraps what reaches a caller.
//
//	s, err := socket.Open(socket.IPv4, socket.Datagram)
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//	if err := s.Bind(netip.MustParseAddrPort("127.0.0.1:0")); err != nil {
//		return err
//	}
//	n, from, err := s.RecvFrom(buf) // n > len(buf): truncated
package socket
