//go:build !linux && !darwin && !freebsd

package socket

// Elsewhere (the vocabulary only: no sockets run there) Linux's limits
// stand.
const (
	maxUnixPath   = 107
	abstractNames = true
)
