package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/test/leakcheck"
	"github.com/actornet/actornet/test/testkit"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestChatDefaultRun(t *testing.T) {
	var out strings.Builder
	if err := run(config{clients: 4, lines: 10}, &out); err != nil {
		t.Fatalf("chat: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "lines sent 40, lines delivered 160") || !strings.Contains(out.String(), "farewells 4") {
		t.Fatalf("summary:\n%s", out.String())
	}
}

func TestChatBadFlags(t *testing.T) {
	if err := run(config{clients: 1, lines: 1}, io.Discard); err == nil {
		t.Fatal("one client accepted")
	}
}

// TestChatHalfClose: many clients connect, send their lines and
// half-close at once, without waiting for anything (as `nc -N` does).
// Each gets its whole answer before the server closes: the welcome
// first, its own lines as the room relayed them, in order, the farewell
// counting them last, then the end of the stream.
func TestChatHalfClose(t *testing.T) {
	testkit.ForEachFamily(t, func(t *testing.T, addr string) {
		sys := testkit.System(t)
		l, err := serve(testkit.Context(t), sys, addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close(context.Background()) })
		const clients, lines = 200, 3
		errs := make(chan error, clients)
		for i := range clients {
			go func() { errs <- sayAndLeave(l.Addr().String(), i, lines) }()
		}
		for range clients {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	})
}

// sayAndLeave is one client of TestChatHalfClose.
func sayAndLeave(addr string, i, lines int) error {
	conn, err := net.DialTimeout("tcp", addr, testkit.Timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(testkit.Timeout))
	var said strings.Builder
	for k := range lines {
		fmt.Fprintf(&said, "line %d from client %d\n", k, i)
	}
	if _, err := io.WriteString(conn, said.String()); err != nil {
		return err
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	// The room names a member by its address as the server sees it.
	name := conn.LocalAddr().String()
	var got []string
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		got = append(got, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("client %d: %w after %q", i, err, got)
	}
	if len(got) < 2 || !strings.HasPrefix(got[0], "* welcome "+name+",") {
		return fmt.Errorf("client %d: %q; want the welcome first", i, got)
	}
	if bye := fmt.Sprintf("* bye %s, lines relayed: %d", name, lines); got[len(got)-1] != bye {
		return fmt.Errorf("client %d ends with %q; want %q", i, got[len(got)-1], bye)
	}
	k := 0
	for _, line := range got {
		if text, ok := strings.CutPrefix(line, name+": "); ok {
			if want := fmt.Sprintf("line %d from client %d", k, i); text != want {
				return fmt.Errorf("client %d: own line %q; want %q", i, text, want)
			}
			k++
		}
	}
	if k != lines {
		return fmt.Errorf("client %d got %d of its %d lines back: %q", i, k, lines, got)
	}
	return nil
}

// TestChatLongLine: a line over MaxLine is refused with a notice, and its
// member leaves with its farewell; the others stay.
func TestChatLongLine(t *testing.T) {
	sys, err := actors.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.StopNow()
	l, err := serve(context.Background(), sys, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	conn, err := net.DialTimeout("tcp", l.Addr().String(), testkit.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(testkit.Timeout))
	name := conn.LocalAddr().String()
	io.WriteString(conn, "short\n"+strings.Repeat("x", MaxLine+1)+"\n")
	all, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%s: short\n* line too long (over %d bytes)\n* bye %s, lines relayed: 1\n", name, MaxLine, name)
	if !strings.HasSuffix(string(all), want) {
		t.Fatalf("got %q; want it to end with %q", all, want)
	}
}
