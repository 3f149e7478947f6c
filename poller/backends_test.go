package poller

import (
	"testing"
)

// eachBackend runs test once per backend of this OS (testBackends), each
// in a subtest named after it.
func eachBackend(t *testing.T, test func(t *testing.T, kind Backend)) {
	t.Helper()
	for _, kind := range testBackends {
		t.Run(kind.String(), func(t *testing.T) {
			skipRefused(t, kind)
			test(t, kind)
		})
	}
}

// skipRefused skips a backend the kernel refuses (set on Linux).
var skipRefused = func(*testing.T, Backend) {}

func TestParseBackend(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Backend
		err  bool
	}{
		{in: "", want: BackendDefault},
		{in: "default", want: BackendDefault},
		{in: "epoll", want: BackendEpoll},
		{in: "io_uring", want: BackendIOUring},
		{in: "kqueue", want: BackendKqueue},
		{in: "uring-ish", err: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseBackend(tc.in)
			if (err != nil) != tc.err || got != tc.want {
				t.Fatalf("ParseBackend(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
			}
			if err == nil && tc.in != "" && got.String() != tc.in {
				t.Fatalf("String = %q; want %q", got.String(), tc.in)
			}
		})
	}
}
