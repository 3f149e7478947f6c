package actors

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/actornet/actornet/messages"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

func caller(cn string, dns ...string) Caller {
	u, _ := url.Parse("spiffe://example.org/" + cn)
	return Caller{Addr: "127.0.0.1:40000", Cert: &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: dns, URIs: []*url.URL{u}}}
}

func TestAllowlistMatches(t *testing.T) {
	l, err := NewAllowlist(
		Rule{Name: "b", Callers: []string{"node-b"}, Spawn: []string{"tcp.client", "tcp.listener"},
			Connect: []string{"127.0.0.1:8080", "10.0.0.0/8:443", "[fd00::/8]:8000-8099", "db.internal:5432", "unix:/run/app/*.sock"},
			Listen:  []string{"127.0.0.1:0", "[::1]:*", "unix:@b-*"}},
		Rule{Name: "ops", Callers: []string{"ops.example.org", "spiffe://example.org/auditor"}, Spawn: []string{"*"}, Connect: []string{"*:22"}},
		Rule{Name: "anyone", Callers: []string{"*"}, Spawn: []string{"udp.peer"}, Connect: []string{"127.0.0.1:53"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	b, ops, auditor, c, anon := caller("node-b"), caller("x", "ops.example.org"), caller("auditor"), caller("node-c"), Caller{Addr: "127.0.0.1:1"}
	for _, tc := range []struct {
		c     Caller
		op    string
		arg   string // kind or address
		allow bool
		rule  string // the rule a refusal names
	}{
		{b, OpSpawn, "tcp.client", true, ""},
		{b, OpSpawn, "udp.peer", true, ""}, // rule "anyone"
		{c, OpSpawn, "udp.peer", true, ""},
		{anon, OpSpawn, "udp.peer", true, ""},
		{anon, OpSpawn, "tcp.client", false, "anyone"},
		{c, OpSpawn, "tcp.listener", false, "anyone"},
		{ops, OpSpawn, "anything.at.all", true, ""},
		{b, OpConnect, "127.0.0.1:8080", true, ""},
		{b, OpConnect, "127.0.0.1:8081", false, "b"},
		{b, OpConnect, "[::ffff:127.0.0.1]:8080", true, ""}, // a v4-mapped address is the IPv4 one
		{b, OpConnect, "10.200.3.4:443", true, ""},
		{b, OpConnect, "11.0.0.1:443", false, "b"},
		{b, OpConnect, "[fd12::1]:8050", true, ""},
		{b, OpConnect, "[fd12::1%eth0]:8050", true, ""},
		{b, OpConnect, "[fd12::1]:8100", false, "b"},
		{b, OpConnect, "[fe80::1]:8050", false, "b"},
		{b, OpConnect, "DB.Internal:5432", true, ""},
		{b, OpConnect, "db.internal:5433", false, "b"},
		{b, OpConnect, "10.1.1.1:5432", false, "b"}, // what a name resolves to is not the name
		{b, OpConnect, "unix:/run/app/api.sock", true, ""},
		{b, OpConnect, "unix:/run/app/sub/api.sock", false, "b"},
		{b, OpConnect, "unix:/etc/passwd", false, "b"},
		{b, OpConnect, "", false, "b"},
		{b, OpConnect, "garbage", false, "b"},
		{b, OpListen, "127.0.0.1:0", true, ""},
		{b, OpListen, "127.0.0.1:8080", false, "b"},
		{b, OpListen, "[::1]:0", true, ""},
		{b, OpListen, "[::1]:65535", true, ""},
		{b, OpListen, "0.0.0.0:0", false, "b"},
		{b, OpListen, "unix:@b-1", true, ""},
		{b, OpListen, "unix:/tmp/b-1", false, "b"},
		{ops, OpConnect, "10.9.9.9:22", true, ""},
		{ops, OpConnect, "bastion:22", true, ""},
		{ops, OpConnect, "10.9.9.9:23", false, "ops"},
		{auditor, OpConnect, "[::1]:22", true, ""}, // matched by its URI
		{ops, OpListen, "127.0.0.1:0", false, "ops"},
		{c, OpConnect, "127.0.0.1:8080", false, "anyone"},
		{anon, OpConnect, "127.0.0.1:53", true, ""},
	} {
		r := RemoteRequest{Caller: tc.c, Op: tc.op, Command: tc.op}
		if tc.op == OpSpawn {
			r.Kind = tc.arg
		} else {
			r.Address = tc.arg
		}
		err := l.Authorize(r)
		if (err == nil) != tc.allow {
			t.Errorf("%s %s %q: %v, want allowed %v", tc.c, tc.op, tc.arg, err, tc.allow)
			continue
		}
		var d *Denial
		if !tc.allow && (!errors.As(err, &d) || d.Rule != tc.rule) {
			t.Errorf("%s %s %q: %v, want a denial by rule %q", tc.c, tc.op, tc.arg, err, tc.rule)
		}
	}
}

// A refusal says who asked for what, and what the rule allows instead;
// a caller no rule names is refused by DefaultRule.
func TestAllowlistDenials(t *testing.T) {
	l, err := NewAllowlist(Rule{Name: "b", Callers: []string{"node-b"}, Connect: []string{"127.0.0.1:8080"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		r    RemoteRequest
		want string
	}{
		{RemoteRequest{Caller: caller("node-b"), Op: OpConnect, Command: "sendto", Address: "127.0.0.1:9"},
			`rule "b": "node-b" at 127.0.0.1:40000 may not send datagrams to 127.0.0.1:9 (the rule allows connect: 127.0.0.1:8080)`},
		{RemoteRequest{Caller: caller("node-b"), Op: OpListen, Command: "listen", Address: "127.0.0.1:0"},
			`rule "b": "node-b" at 127.0.0.1:40000 may not listen on 127.0.0.1:0 (the rule allows no listen)`},
		{RemoteRequest{Caller: caller("node-b"), Op: OpSpawn, Command: "spawn", Kind: "tcp.client"},
			`rule "b": "node-b" at 127.0.0.1:40000 may not spawn "tcp.client" (the rule allows no spawn)`},
		{RemoteRequest{Caller: Caller{Addr: "127.0.0.1:1"}, Op: OpConnect, Command: "connect", Address: "127.0.0.1:8080"},
			`rule "default": no rule names an unauthenticated peer at 127.0.0.1:1 (remote requests are refused unless a rule allows them)`},
	} {
		if err := l.Authorize(tc.r); err == nil || err.Error() != tc.want {
			t.Errorf("%+v:\n got %v\nwant %s", tc.r, err, tc.want)
		}
	}
	if err := denyAll.Authorize(RemoteRequest{Op: OpSpawn}); err == nil || !strings.Contains(err.Error(), "WithRemotePolicy") {
		t.Errorf("the default policy: %v", err)
	}
	if err := AllowAll.Authorize(RemoteRequest{Op: OpListen, Address: "0.0.0.0:22"}); err != nil {
		t.Errorf("AllowAll: %v", err)
	}
}

func TestAllowlistBadPatterns(t *testing.T) {
	for _, tc := range []struct {
		rule Rule
		want string
	}{
		{Rule{Name: "r", Connect: []string{"10.0.0.0/33:1"}}, `rule "r": connect: "10.0.0.0/33:1"`},
		{Rule{Name: "r", Connect: []string{"127.0.0.1"}}, `not HOST:PORT or unix:PATTERN`},
		{Rule{Name: "r", Listen: []string{"127.0.0.1:http"}}, `rule "r": listen: "127.0.0.1:http": port "http" is not a number`},
		{Rule{Name: "r", Listen: []string{"127.0.0.1:90-80"}}, `port range "90-80"`},
		{Rule{Name: "r", Listen: []string{"127.0.0.1:1-70000"}}, `port range "1-70000"`},
		{Rule{Name: "r", Connect: []string{"unix:"}}, `no path after "unix:"`},
		{Rule{Name: "r", Connect: []string{"unix:/run/[x"}}, `syntax error in pattern`},
		{Rule{Connect: []string{"x"}}, `rule "rule 0"`},
	} {
		if _, err := NewAllowlist(tc.rule); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error with %q", tc.rule, err, tc.want)
		}
	}
}

// The guard reads a command's kind or address from its encoding without
// decoding the rest; a malformed encoding reads as no address.
func TestGuardFields(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		hp   int
		want string
		ok   bool
	}{
		{"endpoint", mustMarshal(t, connectTo("127.0.0.1:80", "")), 2, "127.0.0.1:80", true},
		{"ipv6 endpoint", mustMarshal(t, connectTo("[::1]:443", "")), 2, "[::1]:443", true},
		{"host and port", mustMarshal(t, connectTo("", "db.internal:5432")), 2, "db.internal:5432", true},
		{"unix", mustMarshal(t, connectTo("unix:/run/x.sock", "")), 2, "unix:/run/x.sock", true},
		{"field 2 not an address", mustMarshal(t, connectTo("", "db.internal:5432")), 0, "", true},
		{"truncated", mustMarshal(t, connectTo("127.0.0.1:80", ""))[:3], 2, "", false},
		{"garbage", []byte{0xff, 0xff, 0xff}, 2, "", false},
		// Protobuf merges a repeated message field: the actor would see
		// the path of the second with the first's address.
		{"endpoint twice", append(mustMarshal(t, connectTo("unix:/tmp/evil.sock", "")), mustMarshal(t, connectTo("127.0.0.1:80", ""))...), 2, "", false},
		{"host and port twice", append(mustMarshal(t, connectTo("", "ok:1")), mustMarshal(t, connectTo("", "evil:2"))...), 2, "", false},
	} {
		ep, hp, ok := fields(tc.data, protowireNumber(tc.hp))
		if got := address(ep, hp); got != tc.want || ok != tc.ok {
			t.Errorf("%s: address %q, ok %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func connectTo(ep, hostPort string) *messages.Connect {
	c := &messages.Connect{HostPort: hostPort}
	if path, ok := strings.CutPrefix(ep, "unix:"); ok {
		c.Remote = messages.NewUnixEndpoint(path)
	} else if ep != "" {
		c.Remote = messages.NewEndpoint(netip.MustParseAddrPort(ep))
	}
	return c
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func protowireNumber(n int) protowire.Number { return protowire.Number(n) }
