// Package test holds actornet's cross-package tests: integration, fault,
// leak and conformance tests, and the benchmark harness that compares
// actornet with Go's net package. Its subpackage leakcheck is the TestMain
// every package uses to fail on leaked goroutines and fds.
package test
