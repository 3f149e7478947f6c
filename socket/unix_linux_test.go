package socket

// Tests of Unix-domain sockets at the socket layer: paths and their
// limits, binding (stale, live and foreign files), the socket file's
// removal, connecting, names and credentials, datagrams by path.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// unixPath returns the path of a socket file named name in a directory
// removed at cleanup, short enough for a socket path.
func unixPath(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	if len(dir)+1+len(name) > 100 {
		var err error
		if dir, err = os.MkdirTemp("", "an"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
	}
	return filepath.Join(dir, name)
}

// abstractName returns a name in the abstract namespace no other test
// uses.
func abstractName(t *testing.T) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "@actornet-socket-test-" + hex.EncodeToString(b[:])
}

// forEachUnix runs f as a subtest per kind of Unix socket address.
func forEachUnix(t *testing.T, f func(t *testing.T, path string)) {
	t.Run("file", func(t *testing.T) { f(t, unixPath(t, "s.sock")) })
	t.Run("abstract", func(t *testing.T) { f(t, abstractName(t)) })
}

// listenUnix opens a Unix stream socket listening at path.
func listenUnix(t *testing.T, path string) (*Socket, *UnixFile) {
	t.Helper()
	s := open(t, Unix, Stream)
	f, err := s.BindUnix(path)
	if err != nil {
		t.Fatalf("BindUnix %s: %v", path, err)
	}
	t.Cleanup(func() { _ = f.Remove() })
	if err := s.Listen(0); err != nil {
		t.Fatal(err)
	}
	return s, f
}

// wantPathError checks that err is the OpError of op on the Unix socket
// at path, wrapping want, and that its text names the path.
func wantPathError(t *testing.T, what string, err, want error, op, path string) {
	t.Helper()
	var oe *OpError
	switch {
	case !errors.Is(err, want):
		t.Errorf("%s: %v; want an error wrapping %v", what, err, want)
	case !errors.As(err, &oe) || oe.Op != op || oe.Path != path || !strings.HasPrefix(oe.Net, "unix"):
		t.Errorf("%s: %v (%#v); want the OpError of %s on unix %s", what, err, oe, op, path)
	case !strings.Contains(err.Error(), path):
		t.Errorf("%s: %q does not name %s", what, err, path)
	}
}

// self is this process's identity.
func self() Cred { return Cred{PID: os.Getpid(), UID: os.Getuid(), GID: os.Getgid()} }

func TestUnixPathSyntax(t *testing.T) {
	for _, tt := range []struct {
		addr, path string
		ok         bool
	}{
		{"unix:/run/app.sock", "/run/app.sock", true},
		{"unix:@app", "@app", true},
		{"unix:", "", true},
		{"127.0.0.1:80", "", false},
		{"UNIX:/x", "", false},
	} {
		if p, ok := UnixPath(tt.addr); p != tt.path || ok != tt.ok {
			t.Errorf("UnixPath(%q) = %q, %v; want %q, %v", tt.addr, p, ok, tt.path, tt.ok)
		}
	}
	if !IsAbstract("@x") || IsAbstract("/x") || IsAbstract("") {
		t.Error("IsAbstract is wrong")
	}
	if got := (Cred{PID: 1, UID: 2, GID: 3}).String(); got != "pid=1 uid=2 gid=3" {
		t.Errorf("Cred.String = %q", got)
	}
}

// TestUnixCheckPath: 107 bytes (sun_path less its NUL; an abstract
// name's '@' counted) is the longest path; empty names and NUL bytes are
// refused; each refusal is an AddrError naming the address and saying
// why.
func TestUnixCheckPath(t *testing.T) {
	long := "/" + strings.Repeat("p", MaxUnixPath-1)
	for _, tt := range []struct {
		name, path, reason string
	}{
		{"107-byte file", long, ""},
		{"107-byte abstract", "@" + strings.Repeat("a", MaxUnixPath-1), ""},
		{"108-byte file", long + "p", "Unix socket path of 108 bytes: the limit is 107"},
		{"108-byte abstract", "@" + strings.Repeat("a", MaxUnixPath), "Unix socket path of 108 bytes: the limit is 107"},
		{"empty", "", "empty Unix socket path"},
		{"empty abstract", "@", "empty Unix socket path"},
		{"NUL", "/tmp/a\x00b", "NUL byte in a Unix socket path"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckUnixPath(tt.path)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("CheckUnixPath: %v", err)
				}
				return
			}
			var ae *AddrError
			if !errors.As(err, &ae) || !errors.Is(err, ErrInvalidAddress) || ae.Addr != UnixPrefix+tt.path || ae.Reason != tt.reason {
				t.Fatalf("CheckUnixPath = %#v; want an AddrError for %q: %s", err, UnixPrefix+tt.path, tt.reason)
			}
		})
	}
}

// TestUnixStreamConnect: bind, listen, connect and accept on a path and
// on an abstract name; each end knows the path (the dialer as its peer's,
// the accepted socket as its own), neither knows a name for the unbound
// dialer, each end reads the other's credentials, and bytes pass.
func TestUnixStreamConnect(t *testing.T) {
	forEachUnix(t, func(t *testing.T, path string) {
		ln, file := listenUnix(t, path)
		if (file == nil) != IsAbstract(path) {
			t.Fatalf("BindUnix returned file %v for %s", file, path)
		}
		if got, err := ln.LocalPath(); err != nil || got != path {
			t.Fatalf("listener LocalPath = %q, %v", got, err)
		}
		c := open(t, Unix, Stream)
		if err := c.ConnectUnix(path); err != nil {
			t.Fatal(err)
		}
		s, _, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got, err := c.RemotePath(); err != nil || got != path {
			t.Errorf("dialer RemotePath = %q, %v; want %q", got, err, path)
		}
		if got, err := s.LocalPath(); err != nil || got != path {
			t.Errorf("accepted LocalPath = %q, %v; want %q", got, err, path)
		}
		for what, sock := range map[string]*Socket{"dialer": c, "accepted": s} {
			if cred, err := sock.PeerCred(); err != nil || cred != self() {
				t.Errorf("%s PeerCred = %v, %v; want %v", what, cred, err, self())
			}
		}
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		waitFD(t, s.FD(), unix.POLLIN)
		buf := make([]byte, 8)
		if n, err := s.Read(buf); err != nil || string(buf[:n]) != "ping" {
			t.Fatalf("Read = %q, %v", buf[:n], err)
		}
	})
}

// TestUnixUnnamedPathIsEmpty: the name of a socket that did not bind (a
// dialer, and so the peer of the socket it connected to) is "", as
// LocalPath and RemotePath say. Before the fix it was "@": unixName takes the name
// x/sys/unix decodes, which rewrites the leading NUL of an empty sun_path
// as '@', so an unnamed socket looks like an abstract one, and Info
// reports the dialer's local address as "unix:@".
func TestUnixUnnamedPathIsEmpty(t *testing.T) {
	path := unixPath(t, "u.sock")
	ln, _ := listenUnix(t, path)
	c := open(t, Unix, Stream)
	if err := c.ConnectUnix(path); err != nil {
		t.Fatal(err)
	}
	s, _, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := c.LocalPath(); err != nil || got != "" {
		t.Errorf("dialer LocalPath = %q, %v; want \"\"", got, err)
	}
	if got, err := s.RemotePath(); err != nil || got != "" {
		t.Errorf("accepted RemotePath = %q, %v; want \"\"", got, err)
	}
}

// TestUnixBindReplacesStaleFile: a socket file nobody listens on is
// replaced (and the new one is removed by its UnixFile).
func TestUnixBindReplacesStaleFile(t *testing.T) {
	path := unixPath(t, "stale.sock")
	old := open(t, Unix, Stream)
	if _, err := old.BindUnix(path); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil { // the file stays: stale
		t.Fatal(err)
	}
	_, file := listenUnix(t, path)
	c := open(t, Unix, Stream)
	if err := c.ConnectUnix(path); err != nil {
		t.Fatalf("connect to the socket that replaced the stale one: %v", err)
	}
	if err := file.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after Remove: %v", err)
	}
}

// TestUnixBindRefused: a path a live socket holds, or that holds a file
// that is not a socket, is refused with EADDRINUSE and the reason (an
// OpError naming the path), and what is there is left as it was.
func TestUnixBindRefused(t *testing.T) {
	live := unixPath(t, "live.sock")
	listenUnix(t, live)
	dgram := unixPath(t, "dgram.sock")
	d := open(t, Unix, Datagram)
	df, err := d.BindUnix(dgram)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = df.Remove() })
	regular := unixPath(t, "regular")
	if err := os.WriteFile(regular, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	abstract := abstractName(t)
	listenUnix(t, abstract)
	for _, tt := range []struct {
		name, path, reason string
	}{
		{"live listener", live, "a live socket listens there"},
		{"datagram socket", dgram, "a live socket listens there"},
		{"regular file", regular, "a file that is not a socket is there"},
		{"abstract", abstract, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, Unix, Stream)
			f, err := s.BindUnix(tt.path)
			wantPathError(t, "BindUnix", err, unix.EADDRINUSE, "bind", tt.path)
			var re *ReasonError
			if tt.reason != "" && (!errors.As(err, &re) || re.Reason != tt.reason) {
				t.Errorf("BindUnix: %v; want the reason %q", err, tt.reason)
			}
			if f != nil {
				t.Errorf("a refused bind returned a file to remove: %+v", f)
			}
		})
	}
	if b, err := os.ReadFile(regular); err != nil || string(b) != "keep me" {
		t.Fatalf("the regular file holds %q, %v", b, err)
	}
	c := open(t, Unix, Stream)
	if err := c.ConnectUnix(live); err != nil {
		t.Fatalf("the live listener after the refusal: %v", err)
	}
}

// TestUnixRefusedBindLeavesBacklogAlone: a bind refused because a live
// listener holds the path must not queue a connection on that listener.
// Before the fix staleFile's probe connect did, and the listener's next accept
// returns the probe.
func TestUnixRefusedBindLeavesBacklogAlone(t *testing.T) {
	path := unixPath(t, "live.sock")
	ln, _ := listenUnix(t, path)
	s := open(t, Unix, Stream)
	if _, err := s.BindUnix(path); !errors.Is(err, unix.EADDRINUSE) {
		t.Fatalf("BindUnix = %v; want EADDRINUSE", err)
	}
	if c, _, err := ln.Accept(); err != unix.EAGAIN {
		if c != nil {
			c.Close()
		}
		t.Fatalf("the live listener's Accept = %v; want EAGAIN: nobody connected", err)
	}
}

// TestUnixFileRemove: a UnixFile removes its socket file, and only while
// it is still that file: not one put at the path since; a nil UnixFile
// and a second Remove do nothing.
func TestUnixFileRemove(t *testing.T) {
	path := unixPath(t, "r.sock")
	s := open(t, Unix, Stream)
	f, err := s.BindUnix(path)
	if err != nil || f == nil {
		t.Fatalf("BindUnix = %v, %v", f, err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("theirs"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.Remove(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "theirs" {
		t.Fatalf("Remove took a file it did not make: %q, %v", b, err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, Unix, Stream)
	f2, err := s2.BindUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := f2.Remove(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after Remove: %v", err)
	}
	if err := (*UnixFile)(nil).Remove(); err != nil {
		t.Fatalf("nil Remove: %v", err)
	}
}

// TestUnixConnectErrors: a connect to a path with no file fails with
// ENOENT, to a socket file nobody listens on with ECONNREFUSED, to an
// abstract name nobody holds with ECONNREFUSED; each OpError names the
// path. A path too long fails with an AddrError naming it (once).
func TestUnixConnectErrors(t *testing.T) {
	stale := unixPath(t, "stale.sock")
	old := open(t, Unix, Stream)
	if _, err := old.BindUnix(stale); err != nil {
		t.Fatal(err)
	}
	old.Close()
	for _, tt := range []struct {
		name, path string
		want       error
	}{
		{"no file", unixPath(t, "none.sock"), unix.ENOENT},
		{"stale file", stale, unix.ECONNREFUSED},
		{"abstract", abstractName(t), unix.ECONNREFUSED},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, Unix, Stream)
			wantPathError(t, "ConnectUnix", s.ConnectUnix(tt.path), tt.want, "connect", tt.path)
		})
	}
	s := open(t, Unix, Stream)
	long := "/" + strings.Repeat("x", MaxUnixPath)
	err := s.ConnectUnix(long)
	if !errors.Is(err, ErrInvalidAddress) || strings.Count(err.Error(), long) != 1 {
		t.Fatalf("ConnectUnix of 108 bytes: %v; want an invalid address naming the path once", err)
	}
}

// TestUnixWrongDomainOrClosed: the Unix calls refuse an IP socket and a
// closed one.
func TestUnixWrongDomainOrClosed(t *testing.T) {
	ip := open(t, IPv4, Stream)
	if _, err := ip.BindUnix("/tmp/x.sock"); !errors.Is(err, ErrInvalidAddress) {
		t.Errorf("BindUnix on an IPv4 socket: %v", err)
	}
	if err := ip.ConnectUnix("/tmp/x.sock"); !errors.Is(err, ErrInvalidAddress) {
		t.Errorf("ConnectUnix on an IPv4 socket: %v", err)
	}
	if _, err := ip.PeerCred(); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("PeerCred on an IPv4 socket: %v", err)
	}
	s, err := Open(Unix, Datagram)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	checks := map[string]error{}
	_, checks["BindUnix"] = s.BindUnix("/tmp/x.sock")
	checks["ConnectUnix"] = s.ConnectUnix("/tmp/x.sock")
	checks["AutoBind"] = s.AutoBind()
	_, checks["LocalPath"] = s.LocalPath()
	_, checks["RemotePath"] = s.RemotePath()
	_, checks["PeerCred"] = s.PeerCred()
	_, checks["SendToUnix"] = s.SendToUnix([]byte("x"), "/tmp/x.sock")
	_, _, checks["RecvFromUnix"] = s.RecvFromUnix(make([]byte, 1))
	for call, err := range checks {
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("%s on a closed socket: %v; want net.ErrClosed", call, err)
		}
	}
}

// TestUnixDatagrams: datagrams sent by path reach a socket bound to a
// file or an abstract name, and the receiver reads the sender's name: its
// path, the kernel's abstract name after AutoBind ("@" and five hex
// digits), or "" for a sender that did not bind. A datagram longer than
// the buffer reports its full length.
func TestUnixDatagrams(t *testing.T) {
	forEachUnix(t, func(t *testing.T, path string) {
		r := open(t, Unix, Datagram)
		f, err := r.BindUnix(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Remove() })
		bound := open(t, Unix, Datagram)
		bpath := abstractName(t)
		if _, err := bound.BindUnix(bpath); err != nil {
			t.Fatal(err)
		}
		auto := open(t, Unix, Datagram)
		if err := auto.AutoBind(); err != nil {
			t.Fatal(err)
		}
		autoName, err := auto.LocalPath()
		if err != nil || len(autoName) != 6 || autoName[0] != '@' {
			t.Fatalf("LocalPath after AutoBind = %q, %v; want @ and five hex digits", autoName, err)
		}
		unbound := open(t, Unix, Datagram)
		for _, tt := range []struct {
			name   string
			sender *Socket
			from   string
		}{
			{"bound", bound, bpath},
			{"autobound", auto, autoName},
			{"unbound", unbound, ""},
		} {
			msg := []byte("from " + tt.name)
			if n, err := tt.sender.SendToUnix(msg, path); err != nil || n != len(msg) {
				t.Fatalf("%s: SendToUnix = %d, %v", tt.name, n, err)
			}
			waitFD(t, r.FD(), unix.POLLIN)
			buf := make([]byte, 64)
			n, from, err := r.RecvFromUnix(buf)
			if err != nil || from != tt.from || !bytes.Equal(buf[:n], msg) {
				t.Fatalf("%s: RecvFromUnix = %q from %q, %v; want %q from %q", tt.name, buf[:n], from, err, msg, tt.from)
			}
		}
		big := bytes.Repeat([]byte("d"), 100)
		if _, err := unbound.SendToUnix(big, path); err != nil {
			t.Fatal(err)
		}
		waitFD(t, r.FD(), unix.POLLIN)
		if n, _, err := r.RecvFromUnix(make([]byte, 10)); err != nil || n != len(big) {
			t.Fatalf("RecvFromUnix of 100 bytes into 10 = %d, %v; want the full length 100", n, err)
		}
	})
	s := open(t, Unix, Datagram)
	if _, err := s.SendToUnix([]byte("x"), "/"+strings.Repeat("x", MaxUnixPath)); !errors.Is(err, ErrInvalidAddress) {
		t.Errorf("SendToUnix to 108 bytes: %v; want an invalid address", err)
	}
	if _, err := s.SendToUnix([]byte("x"), unixPath(t, "none.sock")); !errors.Is(err, unix.ENOENT) {
		t.Errorf("SendToUnix to no file: %v; want ENOENT", err)
	}
}

// A live listener bound by a relative path is listed under that path in
// /proc/net/unix: a bind by its absolute path must still find it live
// (by the probe connect), not unlink its file.
func TestUnixLiveListenerByRelativePath(t *testing.T) {
	path := unixPath(t, "rel.sock")
	t.Chdir(filepath.Dir(path))
	ln := open(t, Unix, Stream)
	if _, err := ln.BindUnix(filepath.Base(path)); err != nil {
		t.Fatal(err)
	}
	if err := ln.Listen(0); err != nil {
		t.Fatal(err)
	}
	s := open(t, Unix, Stream)
	if _, err := s.BindUnix(path); !errors.Is(err, unix.EADDRINUSE) {
		t.Fatalf("BindUnix by the absolute path = %v; want EADDRINUSE", err)
	}
}
