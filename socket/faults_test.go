package socket

import (
	"errors"
	"syscall"
	"testing"
)

// The tests in this file use no system call: they run on every OS.

func TestInjectFaultsRemove(t *testing.T) {
	errFault := errors.New("planted")
	remove := InjectFaults(func(op Op, fd int) error {
		if op == OpRead && fd == 7 {
			return errFault
		}
		return nil
	})
	if err := injected(OpRead, 7); err != errFault {
		t.Fatalf("injected(read, 7) = %v; want the planted fault", err)
	}
	if err := injected(OpWrite, 7); err != nil {
		t.Fatalf("injected(write, 7) = %v; want nil", err)
	}
	remove()
	if err := injected(OpRead, 7); err != nil {
		t.Fatalf("after remove, injected(read, 7) = %v; want nil", err)
	}
}

// TestInjectFaultsStaleRemove: a remove of an earlier injection leaves a
// later one in place.
func TestInjectFaultsStaleRemove(t *testing.T) {
	first := InjectFaults(func(Op, int) error { return syscall.EINVAL })
	second := InjectFaults(func(Op, int) error { return syscall.EMFILE })
	t.Cleanup(second)
	first()
	if err := injected(OpSocket, -1); err != syscall.EMFILE {
		t.Fatalf("injected = %v; want the second fault (EMFILE)", err)
	}
}

func TestErrOr(t *testing.T) {
	calls := 0
	call := func() error { calls++; return nil }
	if err := errOr(syscall.EIO, call); err != syscall.EIO || calls != 0 {
		t.Fatalf("errOr(EIO) = %v after %d calls; want EIO and no call", err, calls)
	}
	if err := errOr(nil, call); err != nil || calls != 1 {
		t.Fatalf("errOr(nil) = %v after %d calls; want nil and one call", err, calls)
	}
}
