package actors

import (
	"runtime"
	"strings"
	"testing"
)

// The pollers' backend comes from WithBackend, else from
// $ACTORNET_BACKEND, else the default (epoll on Linux).
func TestStartBackend(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("epoll and io_uring are Linux's")
	}
	for _, tc := range []struct {
		name string
		env  string
		opts []Option
		want Backend
	}{
		{name: "default", want: BackendEpoll},
		{name: "env epoll", env: "epoll", want: BackendEpoll},
		{name: "env io_uring", env: "io_uring", want: BackendIOUring},
		{name: "option io_uring", opts: []Option{WithBackend(BackendIOUring)}, want: BackendIOUring},
		{name: "option over env", env: "io_uring", opts: []Option{WithBackend(BackendEpoll)}, want: BackendEpoll},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(BackendEnv, tc.env)
			sys := newSystem(t, append(tc.opts, WithPollers(2))...)
			if got := sys.Backend(); got != tc.want {
				t.Fatalf("Backend = %v; want %v", got, tc.want)
			}
		})
	}
}

func TestStartBadBackendEnv(t *testing.T) {
	t.Setenv(BackendEnv, "select")
	sys, err := Start()
	if err == nil {
		_ = sys.StopNow()
		t.Fatal("Start with ACTORNET_BACKEND=select succeeded")
	}
	if !strings.Contains(err.Error(), BackendEnv) || !strings.Contains(err.Error(), `"select"`) {
		t.Fatalf("error %q does not name the variable and its value", err)
	}
}
