//go:build linux || darwin || freebsd

package socket

import (
	"errors"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// inject makes op fail on every socket with what f returns, for one test.
func inject(t *testing.T, want Op, f func(fd int) error) {
	t.Helper()
	remove := InjectFaults(func(op Op, fd int) error {
		if op == want {
			return f(fd)
		}
		return nil
	})
	t.Cleanup(remove)
}

func TestInjectedEMFILE(t *testing.T) {
	inject(t, OpSocket, func(int) error { return unix.EMFILE })
	_, err := Open(IPv4, Stream)
	var oe *OpError
	if !errors.Is(err, unix.EMFILE) || !errors.As(err, &oe) || oe.Op != "socket" || oe.Net != "tcp4" {
		t.Fatalf("Open = %v; want socket tcp4 OpError wrapping EMFILE", err)
	}
	if got := err.Error(); got != "socket tcp4: too many open files" {
		t.Fatalf("Error() = %q", got)
	}
}

func TestInjectedReadErrors(t *testing.T) {
	a, b, err := Pair(Stream)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	calls := 0
	inject(t, OpRead, func(int) error {
		calls++
		if calls == 1 {
			return unix.EINTR // retried, never surfaced
		}
		return unix.EAGAIN
	})
	if _, err := a.Read(make([]byte, 4)); !errors.Is(err, unix.EAGAIN) || calls != 2 {
		t.Fatalf("Read = %v after %d calls; want EAGAIN after an EINTR retry", err, calls)
	}
}

func TestInjectedWriteReset(t *testing.T) {
	a, b, err := Pair(Stream)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	inject(t, OpWrite, func(int) error { return unix.ECONNRESET })
	if _, err := a.Write([]byte("x")); !errors.Is(err, unix.ECONNRESET) {
		t.Fatalf("Write = %v; want ECONNRESET", err)
	}
}

func TestInjectedAcceptEMFILE(t *testing.T) {
	ln := open(t, IPv4, Stream)
	inject(t, OpAccept, func(int) error { return unix.EMFILE })
	if _, _, err := ln.Accept(); !errors.Is(err, unix.EMFILE) {
		t.Fatalf("Accept = %v; want EMFILE", err)
	}
}

func TestInjectedCloseErrorStillForgetsFD(t *testing.T) {
	s := open(t, IPv4, Datagram)
	fd := s.FD()
	inject(t, OpClose, func(int) error { return unix.EIO })
	if err := s.Close(); !errors.Is(err, unix.EIO) {
		t.Fatalf("Close = %v; want EIO", err)
	}
	if s.FD() != -1 {
		t.Fatal("Close with an error kept the fd")
	}
	unix.Close(fd) // the fault stood in for close(2): the fd is still open
}

func TestInjectedSetupErrors(t *testing.T) {
	for _, tc := range []struct {
		op   Op
		name string
		run  func(s *Socket) error
	}{
		{OpBind, "bind", func(s *Socket) error { return s.Bind(netip.MustParseAddrPort("127.0.0.1:0")) }},
		{OpListen, "listen", func(s *Socket) error { return s.Listen(0) }},
		{OpShutdown, "shutdown", func(s *Socket) error { return s.Shutdown(Both) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, IPv4, Stream)
			inject(t, tc.op, func(int) error { return unix.EACCES })
			if err := tc.run(s); !errors.Is(err, unix.EACCES) {
				t.Fatalf("%s = %v; want the injected EACCES", tc.name, err)
			}
		})
	}
}
