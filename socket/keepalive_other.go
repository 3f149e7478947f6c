//go:build linux || freebsd

package socket

import "golang.org/x/sys/unix"

// Linux and FreeBSD name the keepalive idle time TCP_KEEPIDLE
// (keepalive_darwin.go: macOS's name).
const (
	tcpKeepIdle     = unix.TCP_KEEPIDLE
	tcpKeepIdleName = "TCP_KEEPIDLE"
)
