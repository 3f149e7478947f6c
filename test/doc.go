// Package test holds actornet's cross-package tests: a 10,000-connection
// churn, EMFILE back-off on accept, and a million UDP datagrams echoed with
// every loss accounted for. Its subpackage leakcheck is the TestMain every
// package uses to fail on leaked goroutines and fds; testkit holds the
// helpers the protocol tests share.
package test
