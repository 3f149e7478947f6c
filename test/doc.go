// Package test holds actornet's cross-package tests: the fault matrix of
// README.md (network faults through toxiproxy, system-call faults, chaos,
// a slow consumer, bad input), a 10,000-connection churn, EMFILE back-off
// on accept, a million UDP datagrams echoed with every loss accounted for,
// and remote with node A in a second OS process. Its subpackage leakcheck is the TestMain every
// package uses to fail on leaked goroutines and fds; testkit holds the
// helpers the protocol tests share.
package test
