package socket

import "golang.org/x/sys/unix"

// peerPID is the pid of a Unix socket's peer (LOCAL_PEERPID).
func peerPID(fd int) int {
	pid, err := unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID)
	if err != nil {
		return 0
	}
	return pid
}
