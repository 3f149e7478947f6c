package socket

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// inject replaces a syscall variable for one test.
func inject[F any](t *testing.T, v *F, fake F) {
	t.Helper()
	orig := *v
	*v = fake
	t.Cleanup(func() { *v = orig })
}

func TestInjectedEMFILE(t *testing.T) {
	inject(t, &sysSocket, func(int, int, int) (int, error) { return -1, unix.EMFILE })
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
	inject(t, &sysRead, func(int, []byte) (int, error) {
		calls++
		if calls == 1 {
			return 0, unix.EINTR // retried, never surfaced
		}
		return 0, unix.EAGAIN
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
	var flags int
	inject(t, &sysSend, func(_ int, _ []byte, f int) (int, error) { flags = f; return 0, unix.ECONNRESET })
	if _, err := a.Write([]byte("x")); !errors.Is(err, unix.ECONNRESET) {
		t.Fatalf("Write = %v; want ECONNRESET", err)
	}
	if flags&unix.MSG_NOSIGNAL == 0 {
		t.Fatal("Write did not pass MSG_NOSIGNAL")
	}
}

func TestInjectedAcceptEMFILE(t *testing.T) {
	ln := open(t, IPv4, Stream)
	inject(t, &sysAccept4, func(int, int) (int, unix.Sockaddr, error) { return -1, nil, unix.EMFILE })
	if _, _, err := ln.Accept(); !errors.Is(err, unix.EMFILE) {
		t.Fatalf("Accept = %v; want EMFILE", err)
	}
}

func TestInjectedCloseErrorStillForgetsFD(t *testing.T) {
	s := open(t, IPv4, Datagram)
	fd := s.FD()
	inject(t, &sysClose, func(int) error { return unix.EIO })
	if err := s.Close(); !errors.Is(err, unix.EIO) {
		t.Fatalf("Close = %v; want EIO", err)
	}
	if s.FD() != -1 {
		t.Fatal("Close with an error kept the fd")
	}
	unix.Close(fd) // the fake did not close it
}
