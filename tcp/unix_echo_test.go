package tcp

// Tests of Unix-domain stream sockets carrying data: echo in pull and push
// mode, half-close (Go's net and python3), read credit, peer credentials.

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// TestUnixEchoPushMode: a pull-mode client echoes 1 MiB (more than the
// socket buffers hold, so the echo queues) through a push-mode server on
// a file and on an abstract name; the listener and the connection report
// the path.
func TestUnixEchoPushMode(t *testing.T) {
	forEachUnix(t, func(t *testing.T, path string) {
		sys := newSystem(t)
		events := make(chan any, 1024)
		l := serve(t, sys, socket.UnixPrefix+path, testHandler(events, echoing))
		if l.Path() != path || l.Address() != socket.UnixPrefix+path || l.Addr().IsValid() {
			t.Fatalf("listener Path %q Address %q Addr %v; want %s, unix:%s, none", l.Path(), l.Address(), l.Addr(), path, path)
		}
		c := dial(t, sys, l.Address())
		conn := next[*messages.Connected](t, events)
		if conn.GetLocal().GetPath() != path || conn.GetLocal().Address() != l.Address() {
			t.Fatalf("Connected.Local = %v; want the path %s", conn.GetLocal(), path)
		}
		exchange(t, "1 MiB echo", c, c, pattern(1<<20))
		exchange(t, "a second echo", c, c, []byte("again"))
		st, err := l.Stats(testCtx(t))
		if err != nil || st.GetAccepted() != 1 || st.GetLive() != 1 {
			t.Fatalf("Stats = %v, %v; want 1 accepted, 1 live", st, err)
		}
	})
}

// TestUnixPullMode: Listen, Dial and Accept, then bytes both ways
// between the two pull-mode clients; the accepting side's close is the
// dialer's end of stream.
func TestUnixPullMode(t *testing.T) {
	forEachUnix(t, func(t *testing.T, path string) {
		sys := newSystem(t)
		l := listenUnix(t, sys, path)
		c := dial(t, sys, l.Address())
		s, res := accept(t, l)
		if res.GetLocal().GetPath() != path || res.GetRemote().IsUnix() {
			t.Errorf("AcceptResult local %v remote %v; want the path %s and no name", res.GetLocal(), res.GetRemote(), path)
		}
		exchange(t, "client to server", c, s, pattern(300<<10))
		exchange(t, "server to client", s, c, pattern(300<<10))
		if err := s.Close(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Recv(testCtx(t), 16); !errors.Is(err, io.EOF) {
			t.Fatalf("Recv after the peer closed: %v; want end of stream", err)
		}
	})
}

// TestUnixHalfClose: a client that sends everything and then shuts its
// write side gets every byte echoed before the server closes, on a file
// and on an abstract name: Go's net.UnixConn with CloseWrite, and a
// python3 client with sendall and shutdown(SHUT_WR), whose credentials
// (another process's) the server sees.
func TestUnixHalfClose(t *testing.T) {
	t.Parallel() // waits out timeouts or other processes

	const size = 512 << 10 // more than the socket buffers: the echo queues
	sys := newSystem(t)
	paths := []string{unixPath(t, "half.sock"), abstractName(t)}
	events := map[string]chan any{}
	for _, path := range paths {
		events[path] = make(chan any, 1024)
		serve(t, sys, socket.UnixPrefix+path, testHandler(events[path], echoing))
	}

	t.Run("go", func(t *testing.T) {
		for _, path := range paths {
			c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(testTimeout))
			msg := pattern(size)
			read := make(chan []byte, 1)
			go func() {
				got, _ := io.ReadAll(c)
				read <- got
			}()
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if got := <-read; !bytes.Equal(got, msg) {
				t.Fatalf("%s: echo before close: %d of %d bytes", path, len(got), len(msg))
			}
			wantCred(t, "Connected.Peer of a Go client", next[*messages.Connected](t, events[path]).GetPeer(), self())
		}
	})

	t.Run("python3", func(t *testing.T) {
		python := lookTool(t, "python3")
		// For each path it sends all, shuts its write side, reads to the
		// end, and prints its pid, the bytes it read and whether the echo
		// was whole.
		const script = `
import os, socket, sys
n = int(sys.argv[1])
data = (bytes(range(251)) * (n // 251 + 1))[:n]
for path in sys.argv[2:]:
    if path.startswith('@'):
        path = '\0' + path[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = bytearray()
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
    s.close()
    print(os.getpid(), len(got), 'whole' if got == data else 'differs')
`
		cmd := exec.CommandContext(testCtx(t), python, append([]string{"-c", script, strconv.Itoa(size)}, paths...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("python3: %v\n%s", err, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != len(paths) {
			t.Fatalf("python3 client: %q; want a line per path", out)
		}
		for i, path := range paths {
			f := strings.Fields(lines[i])
			if len(f) != 3 || f[1] != strconv.Itoa(size) || f[2] != "whole" {
				t.Fatalf("python3 client on %s: %q; want %d bytes echoed whole", path, lines[i], size)
			}
			pid, _ := strconv.Atoi(f[0])
			wantCred(t, "Connected.Peer of the python3 client", next[*messages.Connected](t, events[path]).GetPeer(),
				socket.Cred{PID: pid, UID: os.Getuid(), GID: os.Getgid()})
		}
	})
}

// TestUnixReadCredit: a handler that retains every buffer gets exactly
// WithReadCredit Received and the connection stops reading (a client's
// send times out); once it lets go of them, reading resumes and every
// byte the client sent arrives.
func TestUnixReadCredit(t *testing.T) {
	const credit, readSize = 2, 4096
	sys := newSystem(t)
	conns := make(chan *actor.PID, 1) // the connection, at Connected
	received := make(chan int, 64)    // the bytes of each Received
	total := make(chan int, 1)        // the bytes received in all, at PeerClosed
	type release struct{}
	var held []Loan
	hoarding, sum := true, 0
	h := HandlerFunc(func(c *Conn, msg any) {
		switch m := msg.(type) {
		case *messages.Connected:
			conns <- c.PID()
		case *messages.Received:
			sum += len(m.GetData())
			if hoarding {
				held = append(held, c.Retain())
				select {
				case received <- len(m.GetData()):
				default: // more than 64: the count is wrong already
				}
			}
		case release:
			hoarding = false
			for _, l := range held {
				l.Release()
			}
			held = nil
		case *messages.PeerClosed:
			total <- sum
		}
	})
	l := serve(t, sys, socket.UnixPrefix+unixPath(t, "credit.sock"), h, WithReadCredit(credit), WithReadSize(readSize))
	c := dial(t, sys, l.Address())
	var conn *actor.PID
	select {
	case conn = <-conns:
	case <-testCtx(t).Done():
		t.Fatal("no Connected")
	}
	offer := make([]byte, 8<<20)
	sent, err := c.Send(within(t, 50*time.Millisecond), offer)
	if !errors.Is(err, os.ErrDeadlineExceeded) || sent >= len(offer) {
		t.Fatalf("Send of 8 MiB to a connection that stopped reading = %d, %v; want a timeout", sent, err)
	}
	got, bytesIn := 0, 0
	for drained := false; !drained; {
		select {
		case n := <-received:
			got++
			bytesIn += n
		default:
			drained = true
		}
	}
	if got != credit || bytesIn > credit*readSize {
		t.Fatalf("handler got %d Received (%d bytes) while retaining; want exactly %d, at most %d bytes", got, bytesIn, credit, credit*readSize)
	}
	// Let go: the connection reads the rest of what was sent.
	sys.Root().Send(conn, release{})
	if err := c.Shutdown(testCtx(t), actors.ShutdownWrite); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-total:
		if n != sent {
			t.Fatalf("the server received %d bytes in all; the client sent %d", n, sent)
		}
	case <-testCtx(t).Done():
		t.Fatal("reading never resumed after the handler released its buffers")
	}
}

// TestUnixPeerCredentials: the peer's pid, uid and gid (this process's)
// in push mode's Connected and Conn.PeerCred, in pull mode's
// AcceptResult, and in the Info of every socket actor of the connection:
// the push-mode connection, the accepted client and the dialer (whose
// peer is the listener, in this process too). A TCP connection has none.
func TestUnixPeerCredentials(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	path := unixPath(t, "cred.sock")

	t.Run("push", func(t *testing.T) {
		events := make(chan any, 64)
		type peerCred struct {
			cred socket.Cred
			ok   bool
		}
		creds := make(chan peerCred, 4)
		onConnected := func(c *Conn, msg any) {
			if _, ok := msg.(*messages.Connected); ok {
				cred, ok := c.PeerCred()
				creds <- peerCred{cred, ok}
			}
		}
		l := serve(t, sys, socket.UnixPrefix+path, testHandler(events, onConnected))
		c := dial(t, sys, l.Address())
		conn := next[*messages.Connected](t, events)
		wantCred(t, "Connected.Peer", conn.GetPeer(), self())
		if got := <-creds; got.cred != self() || !got.ok {
			t.Errorf("Conn.PeerCred = %v, %v; want %v, true", got.cred, got.ok, self())
		}
		cs := actors.SocketOf(sys, conn.GetConnection().PID())
		in, err := cs.Info(ctx)
		if err != nil || in.GetDomain() != messages.Domain_DOMAIN_UNIX || in.GetLocal().GetPath() != path {
			t.Fatalf("connection Info = %v, %v; want domain unix, local %s", in, err, path)
		}
		wantCred(t, "connection Info.Peer", in.GetPeer(), self())
		in, err = c.Info(ctx)
		if err != nil || in.GetDomain() != messages.Domain_DOMAIN_UNIX || in.GetRemote().GetPath() != path || in.GetType() != "stream" {
			t.Fatalf("dialer Info = %v, %v; want a unix stream socket, remote %s", in, err, path)
		}
		wantCred(t, "dialer Info.Peer", in.GetPeer(), self())
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("pull", func(t *testing.T) {
		l := listenUnix(t, sys, path)
		dial(t, sys, l.Address())
		s, res := accept(t, l)
		wantCred(t, "AcceptResult.Peer", res.GetPeer(), self())
		in, err := s.Info(ctx)
		if err != nil || in.GetDomain() != messages.Domain_DOMAIN_UNIX || in.GetLocal().GetPath() != path {
			t.Fatalf("accepted Info = %v, %v; want domain unix, local %s", in, err, path)
		}
		wantCred(t, "accepted Info.Peer", in.GetPeer(), self())
		in, err = l.Info(ctx)
		if err != nil || in.GetDomain() != messages.Domain_DOMAIN_UNIX || in.GetLocal().GetPath() != path {
			t.Fatalf("listener Info = %v, %v; want domain unix, local %s", in, err, path)
		}
	})

	t.Run("tcp has none", func(t *testing.T) {
		events := make(chan any, 64)
		creds := make(chan bool, 1)
		l := serve(t, sys, "127.0.0.1:0", testHandler(events, func(c *Conn, msg any) {
			if _, ok := msg.(*messages.Connected); ok {
				_, ok := c.PeerCred()
				creds <- ok
			}
		}))
		dial(t, sys, l.Address())
		if conn := next[*messages.Connected](t, events); conn.GetPeer() != nil {
			t.Errorf("a TCP connection's Connected.Peer = %v; want none", conn.GetPeer())
		}
		if <-creds {
			t.Error("a TCP connection's Conn.PeerCred is ok")
		}
	})
}
