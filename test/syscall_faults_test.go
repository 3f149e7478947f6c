package test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/test/testkit"
)

// inject installs a fault function for the rest of the test.
func inject(t *testing.T, f socket.FaultFunc) {
	t.Helper()
	remove := socket.InjectFaults(f)
	t.Cleanup(remove)
}

// pushEcho starts a push-mode echo server whose handler reports the end
// of its connection on ends.
func pushEcho(t *testing.T) (*tcp.Listener, chan any) {
	t.Helper()
	sys := testkit.System(t)
	ends := make(chan any, 16)
	h := tcp.HandlerFunc(func(c *tcp.Conn, msg any) {
		switch m := msg.(type) {
		case *messages.Received:
			_ = c.Write(m.GetData())
		case *messages.Closed, *messages.ErrorClosed:
			ends <- m
		}
	})
	l, err := tcp.Serve(testkit.Context(t), sys, "127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l, ends
}

func endEvent(t *testing.T, ends chan any) any {
	t.Helper()
	select {
	case e := <-ends:
		return e
	case <-time.After(testkit.Timeout):
		t.Fatal("the connection never ended")
		return nil
	}
}

// TestSyscallFaultReadReset: ECONNRESET from read ends a push-mode
// connection with ErrorClosed (op read, connection_reset); the client sees
// the connection closed.
func TestSyscallFaultReadReset(t *testing.T) {
	l, ends := pushEcho(t)
	inject(t, func(op socket.Op, _ int) error {
		if op == socket.OpRead {
			return syscall.ECONNRESET
		}
		return nil
	})
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("x"))
	ec, ok := endEvent(t, ends).(*messages.ErrorClosed)
	if !ok || ec.GetCause().GetOp() != "read" || ec.GetCause().GetCode() != messages.IOStatus_IO_STATUS_CONNECTION_RESET {
		t.Fatalf("end = %v, want ErrorClosed for read, connection_reset", ec)
	}
	_ = c.SetReadDeadline(time.Now().Add(testkit.Timeout))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("the client can still read")
	}
}

// TestSyscallFaultWriteErrors: ECONNRESET and EPIPE from the write under a
// client's Send surface as errors naming send, matching the errno.
func TestSyscallFaultWriteErrors(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ECONNRESET, syscall.EPIPE} {
		t.Run(errno.Error(), func(t *testing.T) {
			sys := testkit.System(t)
			ctx := testkit.Context(t)
			c, err := tcp.Dial(ctx, sys, goEcho(t))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			inject(t, func(op socket.Op, _ int) error {
				if op == socket.OpWrite {
					return errno
				}
				return nil
			})
			_, err = c.Send(ctx, []byte("x"))
			if !errors.Is(err, errno) || !strings.Contains(err.Error(), "send") {
				t.Fatalf("Send = %v, want %v naming send", err, errno)
			}
		})
	}
}

// TestSyscallFaultEINTR: EINTR on the first hundred reads and writes is
// retried inside socket; the echo is intact.
func TestSyscallFaultEINTR(t *testing.T) {
	l, _ := pushEcho(t)
	sys := testkit.System(t)
	ctx := testkit.Context(t)
	c, err := tcp.Dial(ctx, sys, l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n atomic.Int64
	inject(t, func(op socket.Op, _ int) error {
		if (op == socket.OpRead || op == socket.OpWrite) && n.Add(1) <= 100 {
			return syscall.EINTR
		}
		return nil
	})
	msg := pattern(256 << 10)
	reader := c.RecvExactAsync(len(msg), 10*time.Second)
	if _, err := c.Send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	res, err := reader.Wait(ctx)
	if err != nil || !bytes.Equal(res.GetData(), msg) {
		t.Fatalf("echo with EINTRs: %v, %v", err, res.GetStatus())
	}
	if n.Load() < 100 {
		t.Fatalf("only %d syscalls consulted the fault", n.Load())
	}
}

// TestSyscallFaultAcceptEMFILE: EMFILE or ENFILE from accept makes a
// push-mode listener back off and accept the waiting connection once the
// fault is gone.
func TestSyscallFaultAcceptEMFILE(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE} {
		t.Run(errno.Error(), func(t *testing.T) { acceptFault(t, errno) })
	}
}

func acceptFault(t *testing.T, errno syscall.Errno) {
	l, _ := pushEcho(t)
	var failing atomic.Bool
	failing.Store(true)
	failed := make(chan struct{}, 1)
	inject(t, func(op socket.Op, _ int) error {
		if op == socket.OpAccept && failing.Load() {
			select {
			case failed <- struct{}{}:
			default:
			}
			return errno
		}
		return nil
	})
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case <-failed:
	case <-time.After(testkit.Timeout):
		t.Fatal("accept was never tried")
	}
	failing.Store(false)
	_ = c.SetDeadline(time.Now().Add(testkit.Timeout))
	if _, err := c.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "back" {
		t.Fatalf("echo after the EMFILE back-off: %q, %v", got, err)
	}
	st, err := l.Stats(testkit.Context(t))
	if err != nil || st.GetAcceptErrors() == 0 || st.GetAccepted() != 1 {
		t.Fatalf("Stats = %v, %v; want accept errors and then one accept", st, err)
	}
}
