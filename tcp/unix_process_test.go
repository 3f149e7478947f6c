package tcp

// Tests of Unix-domain sockets that need a second process: a remote node
// driving a Unix listener and dialer (ListenAt, DialAt), and permission
// denied, checked as user nobody.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/test/testkit"
)

// unixNodeEnv makes this test binary run TestUnixNodeProcess as node A
// of TestUnixRemote.
const unixNodeEnv = "ACTORNET_TEST_UNIX_NODE"

// TestUnixNodeProcess is node A when this binary is started by
// TestUnixRemote: it starts a system with remote on loopback, prints its
// address and pid, and runs until its stdin closes.
func TestUnixNodeProcess(t *testing.T) {
	if os.Getenv(unixNodeEnv) == "" {
		t.Skip("node A of TestUnixRemote; runs only when started by it")
	}
	sys, err := actors.Start(actors.WithRemote(""), actors.WithRemotePolicy(actors.AllowAll))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("NODE %s %d\n", sys.Address(), os.Getpid())
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := sys.StopNow(); err != nil {
		t.Fatal(err)
	}
}

// startUnixNode starts node A as a second OS process (one process cannot
// hold two remote nodes under -race: Proto.Actor's remote sets gRPC's
// global logger) and returns its address and pid. It ends at cleanup and
// must exit 0: its own leak checks pass.
func startUnixNode(t *testing.T) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestUnixNodeProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), unixNodeEnv+"=1")
	stdin, stdout, stderr := testkit.Piped(t, cmd)
	node := make(chan []string, 1)
	exited := make(chan error, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if f := strings.Fields(lines.Text()); len(f) == 3 && f[0] == "NODE" {
				node <- f[1:]
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("node A: %v\n%s", err, stderr.String())
			}
		case <-time.After(testTimeout):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("node A did not exit\n%s", stderr.String())
		}
	})
	select {
	case f := <-node:
		pid, _ := strconv.Atoi(f[1])
		return f[0], pid
	case err := <-exited:
		t.Fatalf("node A exited before starting: %v\n%s", err, stderr.String())
	case <-time.After(testTimeout):
		t.Fatal("node A did not start")
	}
	return "", 0
}

// TestUnixRemote: this process (node B) has node A, another process,
// listen on a Unix path and dial it (tcp.ListenAt, tcp.DialAt with a
// "unix:" address: the path travels in the messages); the accepted
// client lives on node A and its peer is node A's process; a client of
// node B dials node A's listener too and its peer is this process; bytes
// go both ways; closing the listener from node B removes node A's file.
func TestUnixRemote(t *testing.T) {
	node, nodePID := startUnixNode(t)
	b := newSystem(t, actors.WithRemote(""), actors.WithRemotePolicy(actors.AllowAll))
	ctx := testCtx(t)
	path := unixPath(t, "remote.sock")
	l, err := ListenAt(ctx, b, node, socket.UnixPrefix+path)
	if err != nil {
		t.Fatal(err)
	}
	if l.PID().Address != node || l.Path() != path || l.Address() != socket.UnixPrefix+path {
		t.Fatalf("listener at %s, Path %q, Address %q; want node A %s, %s", l.PID().Address, l.Path(), l.Address(), node, path)
	}
	wantSocketFile(t, path)

	c, err := DialAt(ctx, b, node, l.Address())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	s, res := accept(t, l)
	if c.PID().Address != node || s.PID().Address != node {
		t.Fatalf("dialer at %s, accepted client at %s; want both on node A %s", c.PID().Address, s.PID().Address, node)
	}
	wantCred(t, "AcceptResult.Peer of node A's dialer", res.GetPeer(), socket.Cred{PID: nodePID, UID: os.Getuid(), GID: os.Getgid()})
	if in, err := c.Info(ctx); err != nil || in.GetDomain() != messages.Domain_DOMAIN_UNIX || in.GetRemote().GetPath() != path {
		t.Fatalf("node A's dialer Info = %v, %v; want domain unix, remote %s", in, err, path)
	}
	exchange(t, "node A's dialer to its accepted client", c, s, pattern(64<<10))
	exchange(t, "back", s, c, pattern(64<<10))

	local := dial(t, b, l.Address())
	s2, res := accept(t, l)
	wantCred(t, "AcceptResult.Peer of node B's dialer", res.GetPeer(), self())
	exchange(t, "node B's dialer to node A's accepted client", local, s2, []byte("across"))
	exchange(t, "back", s2, local, []byte("and back"))

	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wantGone(t, "after node B closed node A's listener", path)
}

// unixNobodyEnv makes this test binary run TestUnixNobodyProcess, as user
// nobody, for TestUnixPermissionDenied: its value is the directory to
// listen in and the socket to dial, separated by a newline.
const unixNobodyEnv = "ACTORNET_TEST_UNIX_NOBODY"

// nobody is the uid and gid of user nobody.
const nobody = 65534

// TestUnixNobodyProcess runs the checks of TestUnixPermissionDenied as
// user nobody, when this binary is started by it.
func TestUnixNobodyProcess(t *testing.T) {
	v := os.Getenv(unixNobodyEnv)
	if v == "" {
		t.Skip("runs only when started by TestUnixPermissionDenied")
	}
	if os.Getuid() != nobody {
		t.Fatalf("running as uid %d; want %d", os.Getuid(), nobody)
	}
	dir, sock, _ := strings.Cut(v, "\n")
	permissionDenied(t, dir, sock)
	if !t.Failed() {
		fmt.Println("CHECKED AS NOBODY")
	}
}

// permissionDenied checks, as a user who may not write in dir nor search
// the directory of sock (a live listener's), that a Listen in dir and a
// Dial to sock fail with EACCES naming the path, and that Listen leaves
// nothing in dir.
func permissionDenied(t *testing.T, dir, sock string) {
	sys := newSystem(t)
	ctx := testCtx(t)
	path := filepath.Join(dir, "s.sock")
	_, err := Listen(ctx, sys, socket.UnixPrefix+path)
	wantUnixError(t, "Listen in a directory this user may not write", err, syscall.EACCES, "listen", path)
	_, err = Serve(ctx, sys, socket.UnixPrefix+path, HandlerFunc(echoing))
	wantUnixError(t, "Serve in a directory this user may not write", err, syscall.EACCES, "listen", path)
	wantGone(t, "a refused Listen", path)
	_, err = Dial(ctx, sys, socket.UnixPrefix+sock)
	wantUnixError(t, "Dial into a directory this user may not search", err, syscall.EACCES, "connect", sock)
}

// TestUnixPermissionDenied: Listen in a directory the user may not write,
// and Dial to a socket in a directory it may not search, fail with EACCES
// naming the path. Root passes every permission check, so as root the
// checks run in a copy of this test binary started as user nobody, in a
// directory nobody can reach (mode 0755).
func TestUnixPermissionDenied(t *testing.T) {
	sys := newSystem(t)
	base := shortDir(t)
	readOnly := filepath.Join(base, "ro")
	private := filepath.Join(base, "priv")
	for dir, mode := range map[string]os.FileMode{readOnly: 0o755, private: 0o700} {
		if err := os.Mkdir(dir, mode); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(private, "s.sock")
	l := serve(t, sys, socket.UnixPrefix+sock, HandlerFunc(echoing))
	// Anyone may connect to the socket itself: only its directory keeps
	// others out.
	if err := os.Chmod(sock, 0o777); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() != 0 {
		// This user owns the directories: take its rights away.
		if err := os.Chmod(readOnly, 0o555); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(private, 0o000); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(private, 0o700); _ = os.Chmod(readOnly, 0o755) })
		permissionDenied(t, readOnly, sock)
		return
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "tcp.test")
	if err := linkOrCopy(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(testCtx(t), bin, "-test.run=^TestUnixNobodyProcess$", "-test.count=1", "-test.v")
	cmd.Dir = base
	cmd.Env = append(os.Environ(), unixNobodyEnv+"="+readOnly+"\n"+sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if errors.Is(err, syscall.EPERM) {
		t.Skipf("cannot start a process as user nobody here: %v", err)
	}
	if err != nil || !bytes.Contains(out, []byte("\nCHECKED AS NOBODY\n")) {
		t.Fatalf("the checks as user nobody: %v\n%s", err, out)
	}
	// The listener in the private directory was never disturbed.
	c := dial(t, sys, l.Address())
	exchange(t, "the private listener", c, c, []byte("root may"))
}

// linkOrCopy makes dst the file src: a hard link, or a copy where the two
// are on different file systems.
func linkOrCopy(src, dst string) error {
	if os.Link(src, dst) == nil {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}
