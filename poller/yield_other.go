//go:build !linux

package poller

// yieldCore is yield_linux.go's; elsewhere the loop's blocking waits do
// not yield first (sleep's yieldFirst is for backends that give up the P,
// which are Linux's).
var yieldCore = func() {}
