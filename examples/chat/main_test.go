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

	"github.com/actornet/actornet/test/leakcheck"
	"github.com/actornet/actornet/test/testkit"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// TestChatSingleRun is the single-process demo (-single); the default
// run, three nodes of a cluster, is test/cluster_linux_test.go's
// TestClusterChat in a test (and CI runs it as a program).
func TestChatSingleRun(t *testing.T) {
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
	// Mutual TLS: all three files, each readable.
	node := testkit.ClusterAddr(t)
	if err := runNode(config{node: node, ca: "ca.pem"}, io.Discard); err == nil || !strings.Contains(err.Error(), "all of -ca, -cert and -key") {
		t.Fatalf("-ca alone: %v", err)
	}
	if err := runNode(config{node: node, ca: "none-ca.pem", cert: "none-cert.pem", key: "none-key.pem"}, io.Discard); err == nil || !strings.Contains(err.Error(), "none-cert.pem") {
		t.Fatalf("missing files: %v", err)
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

// TestChatLongLine: a line over MaxLine, whatever its length, sends its
// member off with a notice saying why, then the farewell, then the end of
// the stream (not a reset: the client still writing its line reads it
// all); the others stay in the room and go on talking.
func TestChatLongLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string // sent after "short\n"; the client does not half-close
	}{
		{name: "one byte over", line: strings.Repeat("x", MaxLine+1) + "\n"},
		{name: "one byte over before CRLF", line: strings.Repeat("x", MaxLine+1) + "\r\n"},
		{name: "no newline yet", line: strings.Repeat("x", MaxLine+2)},
		{name: "8 MiB, still being written", line: strings.Repeat("x", 8<<20) + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := testkit.System(t)
			l, err := serve(testkit.Context(t), sys, "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = l.Close(context.Background()) })
			other := dialMember(t, l.Addr().String())
			conn := dialMember(t, l.Addr().String())
			name := conn.LocalAddr().String()
			wrote := make(chan error, 1)
			go func() {
				_, err := io.WriteString(conn, "short\n"+tc.line)
				wrote <- err
			}()
			all, err := io.ReadAll(conn)
			if err != nil {
				t.Fatalf("%v after %q", err, all)
			}
			want := fmt.Sprintf("%s: short\n* line too long (max %d bytes), bye\n* bye %s, lines relayed: 1\n", name, MaxLine, name)
			if !strings.HasSuffix(string(all), want) {
				t.Fatalf("got %q; want it to end with %q", all, want)
			}
			if err := <-wrote; err != nil {
				t.Errorf("the client's write of its line: %v (the server must read it to the end, not reset)", err)
			}
			conn.Close()
			// The other member saw it leave, and still talks.
			r := bufio.NewReader(other)
			if _, err := readLine(testkit.Context(t), r, "* "+name+" left"); err != nil {
				t.Fatalf("the other member: %v", err)
			}
			io.WriteString(other, "still here\r\n")
			line, err := readLine(testkit.Context(t), r, "")
			if want := other.LocalAddr().String() + ": still here\n"; err != nil || line != want {
				t.Fatalf("the other member got %q, %v; want %q", line, err, want)
			}
		})
	}
}

// TestChatLineEndings: a client's line reaches the room without its
// "\r\n".
func TestChatLineEndings(t *testing.T) {
	sys := testkit.System(t)
	l, err := serve(testkit.Context(t), sys, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	conn := dialMember(t, l.Addr().String())
	name := conn.LocalAddr().String()
	io.WriteString(conn, "hello\r\nworld\n")
	_ = conn.(*net.TCPConn).CloseWrite()
	all, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%s: hello\n%s: world\n* bye %s, lines relayed: 2\n", name, name, name)
	if !strings.HasSuffix(string(all), want) {
		t.Fatalf("got %q; want it to end with %q", all, want)
	}
}

// dialMember connects a client to the room at addr and waits for its
// welcome.
func dialMember(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, testkit.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(testkit.Timeout))
	// Byte by byte, so that nothing past the welcome is read here.
	var welcome []byte
	for len(welcome) == 0 || welcome[len(welcome)-1] != '\n' {
		b := make([]byte, 1)
		if _, err := conn.Read(b); err != nil {
			t.Fatalf("welcome %q: %v", welcome, err)
		}
		welcome = append(welcome, b[0])
	}
	if want := "* welcome " + conn.LocalAddr().String() + ","; !strings.HasPrefix(string(welcome), want) {
		t.Fatalf("%q; want the welcome %q...", welcome, want)
	}
	return conn
}
