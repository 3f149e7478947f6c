package socket

import "golang.org/x/sys/unix"

// macOS names the keepalive idle time TCP_KEEPALIVE (keepalive_other.go:
// TCP_KEEPIDLE elsewhere).
const (
	tcpKeepIdle     = unix.TCP_KEEPALIVE
	tcpKeepIdleName = "TCP_KEEPALIVE"
)
