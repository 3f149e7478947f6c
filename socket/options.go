package socket

import "time"

// This file is the portable vocabulary of socket settings; Apply and the
// setters that make the system calls are in options_linux.go.

// Options are socket settings applied by Apply. The zero value changes
// nothing: every field left zero keeps the kernel default.
type Options struct {
	// ReuseAddr sets SO_REUSEADDR (rebind a port in TIME_WAIT).
	ReuseAddr bool
	// ReusePort sets SO_REUSEPORT (several sockets share one port).
	ReusePort bool
	// NoDelay sets TCP_NODELAY (no Nagle delay for small writes).
	NoDelay bool
	// KeepAlive sets SO_KEEPALIVE with its timings.
	KeepAlive KeepAlive
	// Linger sets SO_LINGER: nil keeps the default; a zero duration makes
	// Close abort the connection with RST; otherwise whole seconds, at
	// least one (SetLinger).
	Linger *time.Duration
	// RecvBuffer sets SO_RCVBUF in bytes (the kernel doubles it).
	RecvBuffer int
	// SendBuffer sets SO_SNDBUF in bytes (the kernel doubles it).
	SendBuffer int
	// Broadcast sets SO_BROADCAST (UDP).
	Broadcast bool
	// V6Only sets IPV6_V6ONLY: an IPv6 socket refuses IPv4-mapped traffic.
	V6Only bool
}

// KeepAlive configures TCP keepalive probes. Zero durations and count keep
// the kernel defaults.
type KeepAlive struct {
	// Enable turns SO_KEEPALIVE on.
	Enable bool
	// Idle is the idle time before the first probe (TCP_KEEPIDLE).
	Idle time.Duration
	// Interval is the time between probes (TCP_KEEPINTVL).
	Interval time.Duration
	// Count is the number of unanswered probes before the connection drops
	// (TCP_KEEPCNT).
	Count int
}
