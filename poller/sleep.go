package poller

import "time"

// This file is how the wait loop (poller.go) makes its blocking waits:
// with its goroutine's P, or after giving it back: parked in Go's
// netpoller where the backend can (epoll: park_linux.go; io_uring on one
// P: uring_park_linux.go), else with the runtime's entersyscallblock
// (handoff_linux.go).

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
// thread, but costs the runtime's scheduling and an epoll_wait more per
// wake-up (two, before the loop went to the parker straight after a
// batch): at one echo connection 32 µs of server CPU a round trip against
// 15 held, so it too is for long waits only. Measured on one core (test/bench,
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
	// idle: the last held wait of a loop that cannot park (boundedHold)
	// found nothing in the time it may hold the P.
	idle bool
	// events is the moving average of the events a blocking wait
	// returned, times 4.
	events int
	// hit: the last parked wait returned at its first poll (events were
	// waiting): a poll, counted as one (loop).
	hit bool
	// work is the same average of the work a blocking wait brought: its
	// events, and what owners said events held beyond one unit each
	// (Registration.Worked: one event of a datagram socket may be many
	// datagrams). extra is what they said since the last blocking wait
	// began, whatever batch it came with (a blocking wait's, a poll's, or
	// none: an owner that ran off the loop), folded in as the next one
	// begins.
	work, extra int
}

// addWork notes what owners said events held beyond one unit each.
func (s *sleepState) addWork(extra int) { s.extra += extra }

// busyMin is how much a loop's recent blocking waits must have brought
// on average for it to count as busy: that much work (sleepState.work:
// events, and what owners said they held) for it to yield its core before
// the next (yieldFirst), that many events for an io_uring loop to hold its
// P through a bounded wait (boundedHold).
var busyMin = 4

// yieldFirst: a loop whose recent blocking waits brought busyMin
// units of work or more on average (events, or the datagrams a busy
// datagram socket read on one: sleepState.work) gives its core away once
// (sched_yield) before a blocking wait, then looks again without blocking,
// and blocks only if that finds nothing. Such a loop serves many sockets
// whose peers often share its core (a load generator, a proxy's other
// side, the clients of a benchmark): blocked, it is woken by the first of
// their messages and preempts them, to serve it alone, and again for the
// next (io_uring wakes its thread for each completion's task work; epoll
// wakes it at the first event); yielding, it lets them run until they
// wait, and then serves what they sent in one batch: one io_uring_enter
// submits the batch's sends. Where nothing else wants the core the yield
// returns at once: one system call and one look more per blocking wait.
// Measured (test/bench, gonet clients, 64 B, alternating pairs): same
// core, 100 connections, io_uring 47.5k/46.1k round trips/s ->
// 63.4k/62.0k, context switches of server and client 0.36/0.38 -> 0.073 a
// round trip (in two more pairs server CPU 10.8/11.5 -> 5.0/3.8 µs a round
// trip); epoll 44.3k/43.6k -> 47.4k/45.0k; io_uring at 100 x 4 KiB
// 43.1k/45.4k -> 68.4k/66.7k, at 9,000 x 64 B 45.5k/32.5k -> 49.2k/52.0k;
// UDP echo of 100 peers (one socket, its datagrams counted as work)
// 60k-62k -> 78k-87k datagrams/s, 1.25-1.35x Go net's in three alternating
// triples; one connection (one event a wait: no yield) and 1,000 x 64 B
// level; a server alone on its core (the client on the other) level. The
// price is where a busy program that is not the loop's peer shares the
// core: the yielded loop waits for the end of its turn (a scheduler slice)
// where a blocked one is woken at its first event: with a CPU hog on the
// core, epoll at 100 connections lost 8% (p99 7.7 -> 8.0 ms), io_uring was
// level. TestBoundedHold turns it off.
var yieldFirst = true

// yieldsFirst reports whether the next blocking wait yields first.
func (p *Poller) yieldsFirst(s *sleepState) bool {
	return yieldFirst && s.work >= 4*busyMin
}

// sleep makes the loop's wait (a poll when timeout is 0); a blocking one
// gives up the P first when the recent
// waits lasted longer than handoffAfter, and folds its length into s.
//
// A handed-off wait is longer by the wake-up it costs, which a peer on
// the same core waits for too: a loop whose waits lasted 40 µs held, 55
// µs released, would stay released for good. So a loop that handed off
// goes on releasing only while the average stays over twice
// handoffAfter; one that parked, while it stays over half (threshold).
func (p *Poller) sleep(events []event, timeout int, s *sleepState) (int, error) {
	hb, ok := p.be.(handoffBackend)
	if !ok || timeout == 0 || p.handoffAfter < 0 {
		return p.be.Wait(events, timeout)
	}
	s.work += s.extra
	s.extra = 0
	if p.parker != nil {
		p.parker.updateParks()
	}
	if p.yieldsFirst(s) {
		start := time.Since(epoch)
		yieldCore()
		if n, err := p.be.Wait(events, 0); n > 0 || err != nil {
			// The yield was the wait: it brought events.
			s.observe(time.Since(epoch) - start)
			s.count(n)
			s.idle = false
			return n, err
		}
	}
	if p.boundsHold(s) {
		start := time.Since(epoch)
		n, err := p.sleepBounded(hb, events, timeout, s)
		s.observe(time.Since(epoch) - start)
		s.count(n)
		return n, err
	}
	start := time.Since(epoch)
	var n int
	var err error
	waited := true
	if s.release(p.handoffAfter, p.canPark()) {
		p.released.Add(1)
		if p.canPark() {
			n, waited, err = p.parker.WaitParked(events)
		} else {
			n, err = hb.WaitHandoff(events, timeout)
		}
	} else {
		n, err = p.be.Wait(events, timeout)
	}
	s.hit = !waited
	if !waited {
		// The parker's first poll found events: the loop's poll after a
		// batch, made there (loop), not a wait to judge the next by.
		return n, err
	}
	s.observe(time.Since(epoch) - start)
	s.count(n)
	if n > 0 {
		s.idle = false
	}
	return n, err
}

// canPark reports whether a released wait parks: the backend can.
// Earlier, a released wait parked only where the recent waits returned
// busyMin or more (a parked wake-up costs the scheduler's round and
// two more epoll_waits, where a handed-off one wakes a thread): one busy
// UDP socket, one event a wake-up, lost by parking (0.90x Go net against
// 1.02x). Since the loop yields first where the waits bring much work
// (yieldFirst, which counts that socket's datagrams), parking is ahead
// for such loops too. Measured (test/bench, alternating pairs, same core
// unless said): UDP echo of 100 peers 80k/79k/80k datagrams/s handing
// off, 87k/87k/86k parked (server CPU 2.9-3.1 -> 2.4 µs a datagram);
// serial TLS handshakes (each wait one event, about 300 µs: the client's
// crypto) 812/790/797 a second handing off, 822/802/786 parked, server
// CPU 658-677 -> 633-636 µs a handshake and its voluntary context
// switches 12.7-13.0 -> 7.7-7.8; cross-core (server on core 0, clients on
// core 1) UDP echo 102k/103k/88k -> 103k/106k/94k, one TCP connection
// 13.9k/15.0k -> 14.7k/15.4k.
func (p *Poller) canPark() bool {
	return p.parker != nil && parkReleased && p.parker.parks()
}

// parksNext reports whether the next blocking wait would park, without
// deciding it.
func (p *Poller) parksNext(s *sleepState) bool {
	if p.handoffAfter < 0 || !p.canPark() {
		return false
	}
	return s.avg >= s.threshold(p.handoffAfter, true)
}

// release decides whether the next wait gives the P up, parked (park)
// or handed off.
func (s *sleepState) release(after time.Duration, park bool) bool {
	s.released = s.avg >= s.threshold(after, park)
	return s.released
}

// threshold is the average wait over which the next one releases: after,
// with a margin the way the last one went. A hand-off makes the wait it
// releases longer by another thread's wake-up: a loop that handed off
// goes on handing off only while the average stays over twice after. A
// park wakes no thread: a loop that parked goes on parking while the
// average stays over half after, and one whose waits straddle after (a
// TLS server waiting on one client's handshake crypto, 30-400 µs) parks
// them all instead of every other. With the hand-off's margin it held
// every other wait, its P in the syscall: taken back by the runtime's
// monitor, which wakes every 20 µs while it finds Ps to take. Measured
// (test/bench, serial TLS handshakes, same core, three alternating
// runs): 846/842/855 handshakes a second, 529-547 µs of server CPU each,
// against 898/906/892 and 499-507 µs parking every wait.
func (s *sleepState) threshold(after time.Duration, park bool) time.Duration {
	switch {
	case !s.released:
		return after
	case park:
		return after / 2
	default:
		return after * 2
	}
}

// count folds the events a blocking wait returned into the averages of
// events and of work.
func (s *sleepState) count(n int) {
	s.events += n - s.events/4
	s.work += n - s.work/4
}

// observe folds a wait's length into the average.
func (s *sleepState) observe(d time.Duration) { s.avg += (d - s.avg) / 4 }

// boundedHold: a loop that cannot park (io_uring on more than one P),
// whose recent waits returned busyMin or more on average, holds its P
// through a blocking wait of at most handoffAfter (rounded up to whole
// milliseconds, the backend's unit), and gives it up (hands it off) only
// for the wait after one that found nothing in that time, until a wait
// returns events again. A handed-off wait wakes another thread to take
// the P, and that thread's round wakes the runtime's monitor: per wait,
// on a core the program shares. Holding instead bounds what a goroutine
// woken meanwhile (a timer, another thread's wake-up) waits for the P,
// where an unbounded held wait leaves it to the monitor's next tick, up
// to 10 ms away. Measured (test/bench, same core, alternating pairs,
// io_uring, against the average-based hand-off below): 100 connections
// of client futures 0.74/0.74/0.82x Go net's blocking client before,
// 0.89/0.92/0.95x bounded (and 0.81/0.82/0.67x against 0.94/0.88/0.95x
// in three more pairs); echo servers level (100 connections
// 56.7k/57.0k round trips/s before, 56.4k/58.5k bounded; 1,000
// 43.7k/42.5k and 46.2k/43.6k; 9,000 35.4k/36.6k and 39.0k/31.5k).
// A loop woken for one event at a time (one busy UDP socket) keeps the
// average's policy: there the hand-off was ahead (UDP echo of 100 peers on
// io_uring, two alternating pairs: 0.97/0.94x Go net handing off,
// 0.84/0.83x with every wait held and bounded). Tests turn it off to try
// the average's policy on io_uring.
var boundedHold = true

// boundsHold reports whether the next blocking wait is boundedHold's.
func (p *Poller) boundsHold(s *sleepState) bool {
	return (p.parker == nil || !p.parker.parks()) && boundedHold && p.handoffAfter > 0 && s.events >= 4*busyMin
}

// heldWaitMsec is how long a held wait of boundedHold lasts at most.
func (p *Poller) heldWaitMsec() int {
	return int((p.handoffAfter + time.Millisecond - 1) / time.Millisecond)
}

// sleepBounded is sleep for boundedHold.
func (p *Poller) sleepBounded(hb handoffBackend, events []event, timeout int, s *sleepState) (int, error) {
	if s.idle {
		p.released.Add(1)
		n, err := hb.WaitHandoff(events, timeout)
		s.idle = n == 0
		return n, err
	}
	msec := p.heldWaitMsec()
	start := time.Since(epoch)
	n, err := p.be.Wait(events, msec)
	// Nothing in the whole time (a wait may also end early with nothing:
	// EINTR, a request of the backend's own that it consumed).
	s.idle = n == 0 && time.Since(epoch)-start >= time.Duration(msec)*time.Millisecond
	return n, err
}
