package poller

import "time"

// This file is how the wait loop (poller.go) makes its blocking waits:
// with its goroutine's P, or after giving it back: parked in Go's
// netpoller where the backend can (epoll: park_linux.go), else with the
// runtime's entersyscallblock (handoff_linux.go).

// handoffAfter is how long the loop's blocking waits must have lasted
// lately (a moving average) for the next one to give up the P before it
// blocks. A wait that keeps its P blocks the goroutines others wake (Go's
// netpoller, timers, another thread) until sysmon takes the P back, one
// of its ticks later, and sysmon ticks every 20 µs while it finds Ps to
// take; the thread then wakes without a P. Giving the P up costs another
// thread's wake-up per wait instead (handoffp starts an M), which a peer
// on the same core waits for: worth it for long waits (a TLS server
// waiting on its clients' handshake crypto, an idle server), not for the
// short waits of an echo server. A parked wait (parker) wakes no other
// thread, but costs the runtime's scheduling and two more epoll_waits
// per wake-up: at one echo connection 32 µs of server CPU a round trip
// against 15 held, so it too is for long waits only. Measured on one core (test/bench,
// taskset -c 0, three alternating runs): at 50 µs one echo connection's
// waits (about 40 µs) crossed it and its rate fell from 1.5× Go net's to
// 0.85×; at 200 µs it keeps 1.35-1.53×, and serial TLS handshakes went
// from 523-541 a second (held) to 625-899. Tests set it to 0 (always) or
// -1 (never).
var handoffAfter = 200 * time.Microsecond

// parkReleased: a released wait parks in Go's netpoller when the backend
// can (parkBackend), instead of handing the P off. A server sharing its
// core with its clients waits long (their time slice), and each
// handed-off wait woke a thread that found nothing to do, on the core the
// clients needed. Measured (test/bench, five alternating pairs, 64 B,
// medians, ratios to Go net): same core, 1,000 connections 0.87x ->
// 1.01x (server CPU 1.14x -> 0.96x), 9,000 connections 0.81x -> 0.99x
// (1.16x -> 0.92x), parked ahead in every pair; three more pairs: 100
// connections 0.97x -> 1.05x, TLS at 1,000 0.86x -> 1.01x, one connection
// level (its waits are short: held); server alone on its core,
// 1,000 connections 0.90x -> 0.84x (1.08x -> 1.22x: there the woken
// thread ran on a core that was idle anyway, and the parked wake-up's
// extra polls are on the critical path), 9,000 level. Tests set it to
// false to try the hand-off on epoll.
var parkReleased = true

// sleepState is what the loop knows of its recent blocking waits: their
// moving average (over about four waits) and whether the last one gave the
// P up.
type sleepState struct {
	avg      time.Duration
	released bool
	// events is the moving average of the events a blocking wait
	// returned, times 4.
	events int
}

// parkMinEvents is how many events the recent blocking waits must have
// returned on average for a released wait to park rather than hand the P
// off: a parked wake-up costs more than a handed-off one (the scheduler's
// round, two more epoll_waits), which pays where a wake-up serves many
// sockets (a server sharing its core with its clients: its waits end when
// the clients yield the core, with many events) and not where it serves
// one (a UDP socket with 100 peers: 0.90x Go net parked, 1.02x handed
// off; a server alone on its core, woken at its first event).
var parkMinEvents = 4

// sleep makes the loop's wait (a poll when timeout is 0); a blocking one
// gives up the P first when the recent
// waits lasted longer than handoffAfter, and folds its length into s.
//
// A released wait is longer by the wake-up it costs, which a peer on the
// same core waits for too: a loop whose waits lasted 40 µs held, 55 µs
// released, would stay released for good. So a loop that released goes on
// releasing only while the average stays over twice handoffAfter.
func (p *Poller) sleep(events []event, timeout int, s *sleepState) (int, error) {
	hb, ok := p.be.(handoffBackend)
	if !ok || timeout == 0 || p.handoffAfter < 0 {
		return p.be.Wait(events, timeout)
	}
	start := time.Since(epoch)
	var n int
	var err error
	if s.release(p.handoffAfter) {
		p.released.Add(1)
		if p.canPark(s) {
			n, err = p.parker.WaitParked(events)
		} else {
			n, err = hb.WaitHandoff(events, timeout)
		}
	} else {
		n, err = p.be.Wait(events, timeout)
	}
	s.observe(time.Since(epoch) - start)
	s.events += n - s.events/4
	return n, err
}

// canPark reports whether a released wait parks: the backend can, and
// the recent waits returned parkMinEvents or more.
func (p *Poller) canPark(s *sleepState) bool {
	return p.parker != nil && parkReleased && s.events >= 4*parkMinEvents
}

// parksNext reports whether the next blocking wait would park, without
// deciding it.
func (p *Poller) parksNext(s *sleepState) bool {
	if p.handoffAfter < 0 || !p.canPark(s) {
		return false
	}
	after := p.handoffAfter
	if s.released {
		after *= 2
	}
	return s.avg >= after
}

// release decides whether the next wait gives the P up.
func (s *sleepState) release(after time.Duration) bool {
	if s.released {
		after *= 2
	}
	s.released = s.avg >= after
	return s.released
}

// observe folds a wait's length into the average.
func (s *sleepState) observe(d time.Duration) { s.avg += (d - s.avg) / 4 }
