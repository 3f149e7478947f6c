package poller

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testBackends are the backends the poller's own tests run on: both of
// Linux's. eachBackend skips io_uring where the kernel refuses it, unless
// ACTORNET_BACKEND=io_uring asks for it.
var testBackends = []Backend{BackendEpoll, BackendIOUring}

func init() {
	skipRefused = func(t *testing.T, kind Backend) {
		if kind != BackendIOUring || os.Getenv("ACTORNET_BACKEND") == "io_uring" {
			return
		}
		u, err := NewURing()
		if err != nil && uringRefused(err) {
			t.Skipf("the kernel refuses io_uring: %v", err)
		}
		if err == nil {
			_ = u.Close()
		}
	}
}

func newURing(t *testing.T) *URing {
	t.Helper()
	u, err := NewURing()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := u.Close(); err != nil {
			t.Error(err)
		}
	})
	return u
}

// waitURing waits up to 5 s for events and returns them.
func waitURing(t *testing.T, u *URing) []event {
	t.Helper()
	evs := make([]event, 8)
	n, err := u.Wait(evs, 5000)
	if err != nil {
		t.Fatal(err)
	}
	return evs[:n]
}

// pollNow returns the events ready now (Wait with no wait).
func pollNow(t *testing.T, u *URing) []event {
	t.Helper()
	evs := make([]event, 64)
	n, err := u.Wait(evs, 0)
	if err != nil {
		t.Fatal(err)
	}
	return evs[:n]
}

func TestURingAddWaitRemove(t *testing.T) {
	u := newURing(t)
	a, b := socketpair(t)
	const token = 0xdead_0000_0007
	if err := u.Add(a, unix.EPOLLIN, token); err != nil {
		t.Fatal(err)
	}
	if evs := pollNow(t, u); len(evs) != 0 {
		t.Fatalf("Wait reported %+v before any write", evs)
	}
	if err := u.Add(a, unix.EPOLLIN, token); !errors.Is(err, unix.EEXIST) {
		t.Fatalf("second Add = %v; want EEXIST", err)
	}
	if _, err := unix.Write(b, []byte("x")); err != nil {
		t.Fatal(err)
	}
	evs := waitURing(t, u)
	if len(evs) != 1 || TokenOf(&evs[0]) != token || evs[0].Events&unix.EPOLLIN == 0 {
		t.Fatalf("events = %+v; want one EPOLLIN with token %#x", evs, uint64(token))
	}
	// Multishot: the request stays armed, the next write is another edge.
	if _, err := unix.Write(b, []byte("y")); err != nil {
		t.Fatal(err)
	}
	if evs := waitURing(t, u); len(evs) != 1 || TokenOf(&evs[0]) != token {
		t.Fatalf("second edge = %+v; want one event with the token", evs)
	}
	if err := u.Remove(a); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(b, []byte("z")); err != nil {
		t.Fatal(err)
	}
	if evs := pollNow(t, u); len(evs) != 0 {
		t.Fatalf("Wait reported %+v after Remove", evs)
	}
	if err := u.Remove(a); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("second Remove = %v; want ENOENT", err)
	}
	// Added again (the fd number reused), it gets the new token only.
	if err := u.Add(a, unix.EPOLLIN, token+1); err != nil {
		t.Fatal(err)
	}
	if evs := waitURing(t, u); len(evs) != 1 || TokenOf(&evs[0]) != token+1 {
		t.Fatalf("after a new Add events = %+v; want the new token", evs)
	}
}

func TestURingAddBadFD(t *testing.T) {
	u := newURing(t)
	fds := rawSocketpair(t)
	unix.Close(fds[0])
	unix.Close(fds[1])
	if err := u.Add(fds[0], watched, 1); !errors.Is(err, unix.EBADF) {
		t.Fatalf("Add of a closed fd = %v; want EBADF", err)
	}
	if err := u.Add(-1, watched, 1); !errors.Is(err, unix.EBADF) {
		t.Fatalf("Add(-1) = %v; want EBADF", err)
	}
}

// The wake-up ends a blocked Wait and, like epoll's eventfd, stays
// reported until ResetWake.
func TestURingWake(t *testing.T) {
	u := newURing(t)
	done := make(chan []event)
	go func() {
		evs := make([]event, 4)
		n, _ := u.Wait(evs, -1)
		done <- evs[:n]
	}()
	if err := u.Wake(); err != nil {
		t.Fatal(err)
	}
	evs := <-done
	if len(evs) != 1 || TokenOf(&evs[0]) != wakeToken {
		t.Fatalf("Wake delivered %+v; want the wake token", evs)
	}
	if evs := pollNow(t, u); len(evs) != 1 || TokenOf(&evs[0]) != wakeToken {
		t.Fatalf("before ResetWake Wait = %+v; want the wake token again", evs)
	}
	u.ResetWake()
	if evs := pollNow(t, u); len(evs) != 0 {
		t.Fatalf("wake event still pending after ResetWake: %+v", evs)
	}
	if err := u.Wake(); err != nil { // a second NOP goes out once the first was read
		t.Fatal(err)
	}
	if evs := waitURing(t, u); len(evs) != 1 || TokenOf(&evs[0]) != wakeToken {
		t.Fatalf("second Wake delivered %+v", evs)
	}
}

func TestURingTimeout(t *testing.T) {
	u := newURing(t)
	evs := make([]event, 4)
	if n, err := u.Wait(evs, 10); n != 0 || err != nil {
		t.Fatalf("Wait(10 ms) with nothing ready = %d, %v; want 0, nil", n, err)
	}
}

func TestURingHangUp(t *testing.T) {
	u := newURing(t)
	a, b := socketpair(t)
	if err := u.Add(a, unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLET, 1); err != nil {
		t.Fatal(err)
	}
	if err := unix.Shutdown(b, unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	evs := waitURing(t, u)
	if len(evs) != 1 || !hangUp(&evs[0]) || !readable(&evs[0]) {
		t.Fatalf("events = %+v; want EPOLLRDHUP", evs)
	}
}

// A poll request that ends (here cancelled behind the backend's back, as
// the kernel may) is armed again, and the fd's state at that moment is
// reported: nothing is lost.
func TestURingRearmsEndedRequest(t *testing.T) {
	u := newURing(t)
	a, b := socketpair(t)
	if err := u.Add(a, unix.EPOLLIN, 7); err != nil {
		t.Fatal(err)
	}
	u.mu.Lock()
	sqe := u.r.getSQE()
	ud := userData(a, u.slots[a].seq)
	sqe.Opcode, sqe.Fd, sqe.Addr, sqe.UserData = ioringOpAsyncCancel, -1, ud, ud|udRemoveBit
	err := u.submitLocked("test poll remove")
	u.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	// The -ECANCELED CQE: no event, a re-arm.
	for deadline := time.Now().Add(5 * time.Second); u.rearms.Load() == 0; runtime.Gosched() {
		if evs := pollNow(t, u); len(evs) != 0 {
			t.Fatalf("the cancellation reported %+v", evs)
		}
		if time.Now().After(deadline) {
			t.Fatal("the cancelled request was not armed again")
		}
	}
	if _, err := unix.Write(b, []byte{1}); err != nil {
		t.Fatal(err)
	}
	if evs := waitURing(t, u); len(evs) != 1 || TokenOf(&evs[0]) != 7 {
		t.Fatalf("after the re-arm events = %+v; want token 7", evs)
	}
}

// A full CQ ring ends multishot requests (their last CQE goes to the
// kernel's backlog): every fd is armed again and still reports its next
// edge.
func TestURingCQOverflowLosesNothing(t *testing.T) {
	r, err := newRing(2, 2)
	if err != nil {
		t.Fatal(err)
	}
	u, err := uringOn(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Close() })
	const n = 6
	var peers [n]int
	var fds [n]int
	for i := range n {
		fds[i], peers[i] = socketpair(t)
		if err := u.Add(fds[i], unix.EPOLLIN, uint64(100+i)); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 { // 18 edges into a CQ ring of 2
		for i := range n {
			if _, err := unix.Write(peers[i], []byte{1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Read as owners do, to EAGAIN on each event: a re-armed request
	// reports the fd's state, so unread data would come back each time.
	buf := make([]byte, 64)
	for {
		evs := pollNow(t, u)
		if len(evs) == 0 {
			break
		}
		for i := range evs {
			fd := fds[TokenOf(&evs[i])-100]
			for {
				if _, err := unix.Read(fd, buf); err != nil {
					break
				}
			}
		}
	}
	if u.rearms.Load() == 0 {
		t.Fatal("no request ended on the full CQ ring: the test does not test the re-arm")
	}
	for i := range n {
		if _, err := unix.Write(peers[i], []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[uint64]bool{}
	for len(seen) < n {
		evs := waitURing(t, u)
		if len(evs) == 0 {
			t.Fatalf("edges lost: saw %v of %d fds", seen, n)
		}
		for i := range evs {
			seen[TokenOf(&evs[i])] = true
		}
	}
}

// A poll request submitted from a thread that then exits (a goroutine
// locked to its thread returns) keeps reporting.
func TestURingSubmitterThreadExits(t *testing.T) {
	u := newURing(t)
	a, b := socketpair(t)
	added := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		added <- u.Add(a, unix.EPOLLIN, 9)
	}()
	if err := <-added; err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := unix.Write(b, []byte{1}); err != nil {
			t.Fatal(err)
		}
		evs := waitURing(t, u)
		for len(evs) == 0 { // the exit's cancellation, re-armed
			evs = waitURing(t, u)
		}
		if len(evs) != 1 || TokenOf(&evs[0]) != 9 {
			t.Fatalf("write %d: events = %+v; want token 9", i, evs)
		}
	}
}

// Where the kernel refuses io_uring, a poller asked for it runs on epoll,
// and the process says so once.
func TestIOUringRefusedFallsBackToEpollOnce(t *testing.T) {
	realSetup, realLog := uringSetup, logFallback
	for _, tc := range []struct {
		name  string
		setup func(uint32, *ioUringParams) (int, error)
		want  string
	}{
		{name: "ENOSYS", setup: func(uint32, *ioUringParams) (int, error) { return -1, unix.ENOSYS }, want: "function not implemented"},
		{name: "EPERM (sysctl, seccomp)", setup: func(uint32, *ioUringParams) (int, error) { return -1, unix.EPERM }, want: "operation not permitted"},
		{name: "too old", setup: func(n uint32, p *ioUringParams) (int, error) {
			fd, err := realSetup(n, p)
			p.Features &^= ioringFeatRsrcTags
			return fd, err
		}, want: "too old"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lines []string
			uringSetup, logFallback = tc.setup, func(l string) { lines = append(lines, l) }
			uringRefusal.Store(nil)
			fallbackSaid.Store(false)
			t.Cleanup(func() {
				uringSetup, logFallback = realSetup, realLog
				uringRefusal.Store(nil)
				fallbackSaid.Store(false)
			})
			for range 3 {
				if kind := backendRun(t, BackendIOUring); kind != BackendEpoll {
					t.Fatalf("Backend = %v; want the fallback to epoll", kind)
				}
			}
			if len(lines) != 1 || !strings.Contains(lines[0], "io_uring") || !strings.Contains(lines[0], tc.want) || !strings.Contains(lines[0], "epoll") {
				t.Fatalf("logged %q; want one line naming io_uring, %q and epoll", lines, tc.want)
			}
		})
	}
}

// kqueue asked for on Linux runs on epoll, and the process says so, as
// epoll asked for on BSD runs on kqueue.
func TestKqueueOnLinuxSaysEpoll(t *testing.T) {
	var lines []string
	old := logFallback
	logFallback = func(l string) { lines = append(lines, l) }
	fallbackSaid.Store(false)
	t.Cleanup(func() {
		logFallback = old
		fallbackSaid.Store(false)
	})
	if kind := backendRun(t, BackendKqueue); kind != BackendEpoll {
		t.Fatalf("Backend = %v; want epoll", kind)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "kqueue unavailable") || !strings.Contains(lines[0], "epoll") {
		t.Fatalf("logged %q; want one line naming kqueue and epoll", lines)
	}
}

// backendRun starts and stops a poller asked for kind, and returns the
// backend it ran on.
func backendRun(t *testing.T, kind Backend) Backend {
	t.Helper()
	p, err := New(make(chanSender, 1), WithBackend(kind))
	if err != nil {
		t.Fatal(err)
	}
	got := p.Backend()
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	return got
}

// A shortage is no refusal: New fails rather than fall back.
func TestIOUringShortageIsAnError(t *testing.T) {
	realSetup := uringSetup
	uringSetup = func(uint32, *ioUringParams) (int, error) { return -1, unix.EMFILE }
	t.Cleanup(func() { uringSetup = realSetup; uringRefusal.Store(nil) })
	if _, err := New(make(chanSender, 1), WithBackend(BackendIOUring)); !errors.Is(err, unix.EMFILE) {
		t.Fatalf("New with io_uring_setup failing EMFILE = %v; want EMFILE", err)
	}
}

// listener returns a listening TCP socket on 127.0.0.1:0 and its port.
func listener(t *testing.T, port int) (int, int) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		unix.Close(fd)
		t.Fatalf("bind 127.0.0.1:%d: %v", port, err)
	}
	if err := unix.Listen(fd, 8); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	return fd, sa.(*unix.SockaddrInet4).Port
}

// After Remove, close(2) closes the socket at once, as after
// EPOLL_CTL_DEL, even though the poll request was submitted by another
// thread (whose task work ends it): a listener closed can be opened again
// on its port straight away.
func TestURingRemoveReleasesTheFile(t *testing.T) {
	u := newURing(t)
	adds := make(chan int)
	added := make(chan error)
	done := make(chan struct{})
	defer close(done)
	go func() { // a thread of its own, parked between its Adds
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for {
			select {
			case fd := <-adds:
				added <- u.Add(fd, watched, uint64(fd))
			case <-done:
				return
			}
		}
	}()
	fd, port := listener(t, 0)
	for i := range 50 {
		adds <- fd
		if err := <-added; err != nil {
			t.Fatal(err)
		}
		if err := u.Remove(fd); err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
		fd, _ = listener(t, port) // EADDRINUSE if the old socket lives on
		if i%8 == 0 {
			pollNow(t, u) // the loop reads the CQEs now and then
		}
	}
	unix.Close(fd)
}

// Remove right after a wake-up, while the task work it queued on the
// submitting thread may still be pending, still ends the request (where
// IORING_OP_POLL_REMOVE would give up with EALREADY and leave it armed,
// holding the socket open): the peer of a socket closed after Remove
// finds it closed at once.
func TestURingRemoveWithWakeUpPending(t *testing.T) {
	u := newURing(t)
	adds := make(chan int)
	added := make(chan error)
	done := make(chan struct{})
	defer close(done)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for {
			select {
			case fd := <-adds:
				added <- u.Add(fd, watched, uint64(fd))
			case <-done:
				return
			}
		}
	}()
	buf := make([]byte, 8)
	for i := range 200 {
		fds := rawSocketpair(t)
		adds <- fds[0]
		if err := <-added; err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Write(fds[1], []byte{1}); err != nil { // a wake-up
			t.Fatal(err)
		}
		if err := u.Remove(fds[0]); err != nil {
			t.Fatal(err)
		}
		unix.Close(fds[0])
		n, err := unix.Read(fds[1], buf)
		unix.Close(fds[1])
		if err == nil && n != 0 || err != nil && err != unix.ECONNRESET { // reset: a's byte was unread
			t.Fatalf("round %d: the peer read %d, %v after Remove and close; want end of stream or a reset", i, n, err)
		}
		if i%16 == 0 {
			pollNow(t, u)
		}
	}
}
