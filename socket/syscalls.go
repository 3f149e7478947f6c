package socket

import "golang.org/x/sys/unix"

// The system calls socket makes, as package variables so tests can inject
// faults (EMFILE from socket, EAGAIN from read, ECONNRESET from write).
// They are swapped only by tests in this package, never concurrently with use.
var (
	sysSocket     = unix.Socket
	sysSocketpair = unix.Socketpair
	sysClose      = unix.Close
	sysAccept4    = unix.Accept4
	sysRead       = unix.Read
	sysSend       = send
	sysRecvFrom   = recvFrom
	sysConnect    = unix.Connect
	sysBind       = unix.Bind
	sysListen     = unix.Listen
	sysShutdown   = unix.Shutdown
)
