package leakcheck

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

// leakEnv tells a child run of this test binary what to leak.
const leakEnv = "ACTORNET_LEAKCHECK_LEAK"

// held keeps the leaked fd reachable, so no finalizer closes it.
var held *os.File

// TestLeakyChild leaks what leakEnv names; it runs only as the child of
// TestLeakcheckFails.
func TestLeakyChild(t *testing.T) {
	switch os.Getenv(leakEnv) {
	case "goroutine":
		go func() { select {} }()
	case "fd":
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		held = f
	case "none":
	default:
		t.Skip("run by TestLeakcheckFails, in a child process")
	}
}

// TestLeakcheckFails runs this test binary as a child that leaks a
// goroutine, then one that leaks an fd: Main must fail each run and name
// the leak; a child that leaks nothing passes. The children run at once.
func TestLeakcheckFails(t *testing.T) {
	for _, tc := range []struct {
		leak, want string
	}{
		{leak: "goroutine", want: "leakcheck: leaked goroutines"},
		{leak: "fd", want: "leakcheck: leaked fds"},
		{leak: "none"},
	} {
		t.Run(tc.leak, func(t *testing.T) {
			t.Parallel() // each child waits out the check's settling time
			cmd := exec.Command(os.Args[0], "-test.run=^TestLeakyChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), leakEnv+"="+tc.leak, settleEnv+"=500ms")
			out, err := cmd.CombinedOutput()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("a child that leaks nothing failed: %v\n%s", err, out)
				}
				return
			}
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("a child that leaks a %s: err %v, output:\n%s\nwant a failure saying %q", tc.leak, err, out, tc.want)
			}
		})
	}
}
