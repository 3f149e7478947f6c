//go:build darwin || freebsd

package socket

// The BSDs' sun_path is 104 bytes; they have no abstract namespace.
const (
	maxUnixPath   = 103
	abstractNames = false
)
