package poller

import (
	"testing"

	"github.com/actornet/actornet/test/leakcheck"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// socketpair returns a non-blocking AF_UNIX stream pair, closed at cleanup.
func socketpair(t testing.TB) (int, int) {
	t.Helper()
	fds := rawSocketpair(t)
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// rawSocketpair returns a non-blocking, close-on-exec AF_UNIX stream pair
// that the caller closes. (socket(2) flags would do it in one call, but
// macOS has no SOCK_NONBLOCK.)
func rawSocketpair(t testing.TB) [2]int {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
	}
	return fds
}
