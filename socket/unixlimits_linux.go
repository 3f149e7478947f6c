package socket

// Linux's sun_path is 108 bytes; it has the abstract namespace.
const (
	maxUnixPath   = 107
	abstractNames = true
)
