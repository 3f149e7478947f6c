//go:build !race

// Three nodes in one process: see tcp/remote_test.go for why these run
// without -race.

package test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/tcp"
	"github.com/actornet/actornet/test/testkit"
	"github.com/actornet/actornet/test/testkit/certs"
	"github.com/actornet/actornet/udp"
)

// TestRemotePolicy: node A serves, over mutual TLS, a policy that lets
// node B connect to one TCP address and send datagrams to one UDP
// address, and nothing else; node C, with a certificate from the same
// CA, is named by no rule. What is allowed works; everything else is
// refused with a permission error naming the rule, opens no socket, and
// is counted in A's metrics and their OpenTelemetry export.
func TestRemotePolicy(t *testing.T) {
	ctx := testkit.Context(t)
	ca, err := certs.NewCA("policy nodes")
	if err != nil {
		t.Fatal(err)
	}
	node := func(name string) actors.Option {
		cert, err := ca.Issue(certs.Leaf{Hosts: []string{"127.0.0.1"}, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return actors.WithRemoteTLS(actors.MutualTLS(cert, ca.Pool))
	}
	allowedTCP, otherTCP := goListener(t), goListener(t)
	allowedUDP, otherUDP := goPacketConn(t), goPacketConn(t)
	policy, err := actors.NewAllowlist(actors.Rule{
		Name:    "b-upstream",
		Callers: []string{"node-b"},
		Spawn:   []string{tcp.KindClient, udp.KindPeer},
		Connect: []string{allowedTCP.Addr().String(), allowedUDP.LocalAddr().String()},
	})
	if err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	a := testkit.System(t, actors.WithRemote(""), node("node-a"), actors.WithRemotePolicy(policy), actors.WithMeterProvider(mp))
	b := testkit.System(t, actors.WithRemote(""), node("node-b"))
	c := testkit.System(t, actors.WithRemote(""), node("node-c"))

	// Allowed: B connects from A to the one address, and sends.
	cl, err := tcp.DialAt(ctx, b, a.Address(), allowedTCP.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close(ctx)
	// Its PID is a capability: a name no other node can guess.
	if id := cl.PID().Id; len(id) != 27 {
		t.Fatalf("socket actor named %q: want 128 random bits (core.SecretName)", id)
	}
	if _, err := cl.Send(ctx, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	conn, err := allowedTCP.Accept()
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()

	denied := func(what string, err error, rule, text string) {
		t.Helper()
		if !errors.Is(err, os.ErrPermission) || !errors.Is(err, socket.ErrPermission) ||
			!strings.Contains(err.Error(), `rule "`+rule+`"`) || !strings.Contains(err.Error(), text) {
			t.Errorf("%s: %v; want a permission error by rule %q saying %q", what, err, rule, text)
		}
	}
	// Refused: another destination, a listener, a caller no rule names.
	_, err = tcp.DialAt(ctx, b, a.Address(), otherTCP.Addr().String())
	denied("B connects elsewhere", err, "b-upstream", `"node-b" at 127.0.0.1:`)
	denied("B connects elsewhere", err, "b-upstream", "may not connect to "+otherTCP.Addr().String())
	_, err = tcp.ListenAt(ctx, b, a.Address(), "127.0.0.1:0")
	denied("B listens", err, "b-upstream", `may not spawn "tcp.listener"`)
	_, err = tcp.DialAt(ctx, c, a.Address(), allowedTCP.Addr().String())
	denied("C connects", err, "default", `no rule names "node-c"`)

	// UDP: datagrams to the allowed address go, others are refused, and
	// a bind (a listen) is refused.
	p, err := udp.NewPeerAt(ctx, b, a.Address())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if _, err := p.SendTo(ctx, allowedUDP.LocalAddr().(*net.UDPAddr).AddrPort(), []byte("d1")); err != nil {
		t.Fatal(err)
	}
	_, err = p.SendTo(ctx, otherUDP.LocalAddr().(*net.UDPAddr).AddrPort(), []byte("d2"))
	denied("B sends elsewhere", err, "b-upstream", "may not send datagrams to "+otherUDP.LocalAddr().String())
	if _, err := p.SendTo(ctx, allowedUDP.LocalAddr().(*net.UDPAddr).AddrPort(), []byte("d3")); err != nil {
		t.Fatal(err)
	}
	_, err = udp.BindAt(ctx, b, a.Address(), "127.0.0.1:0")
	denied("B binds", err, "b-upstream", "may not bind 127.0.0.1:0")
	buf := make([]byte, 16)
	for _, want := range []string{"d1", "d3"} {
		_ = allowedUDP.SetReadDeadline(time.Now().Add(testkit.Timeout))
		if n, _, err := allowedUDP.ReadFrom(buf); err != nil || string(buf[:n]) != want {
			t.Fatalf("allowed destination got %q, %v; want %q", buf[:n], err, want)
		}
	}

	// Nothing reached the refused destinations: a connection A had made
	// would be waiting in the backlog, a datagram in the buffer.
	_ = otherTCP.(*net.TCPListener).SetDeadline(time.Now())
	if conn, err := otherTCP.Accept(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the refused destination was connected to: %v, %v", conn, err)
	}
	_ = otherUDP.SetReadDeadline(time.Now())
	if n, from, err := otherUDP.ReadFrom(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the refused destination got %q from %v", buf[:n], from)
	}

	// The node's own actors take nothing from other nodes.
	poller := actor.NewPID(a.Address(), actors.PollerName(0))
	if _, err := actors.Request[*messages.PollerStats](b.Root(), poller, &messages.GetPollerStats{}).Wait(ctx); err == nil {
		t.Fatal("B read A's poller stats")
	}

	m := a.Metrics().Remote
	want := map[actors.RemoteDenialKey]uint64{
		{Op: actors.OpConnect, Rule: "b-upstream"}: 2, // the TCP connect and the datagram
		{Op: actors.OpSpawn, Rule: "b-upstream"}:   1,
		{Op: actors.OpListen, Rule: "b-upstream"}:  1,
		{Op: actors.OpSpawn, Rule: "default"}:      1,
		{Op: "send", Rule: "internal"}:             1,
	}
	for k, n := range want {
		if m.Denied[k] != n {
			t.Errorf("Metrics.Remote.Denied[%v] = %d, want %d (all: %v)", k, m.Denied[k], n, m.Denied)
		}
	}
	if len(m.Denied) != len(want) {
		t.Errorf("Metrics.Remote.Denied = %v, want %v", m.Denied, want)
	}
	// Spawns: the TCP client, the refused connect's client, the peer
	// and the refused bind's peer; connects: the TCP connect and the
	// first datagram (the next to the same address is not decided again).
	if m.Allowed[actors.OpSpawn] != 4 || m.Allowed[actors.OpConnect] != 2 {
		t.Errorf("Metrics.Remote.Allowed = %v, want 4 spawns, 2 connects", m.Allowed)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	if n := sumWith(rm, "actornet.remote.denied", "op", "connect", "rule", "b-upstream"); n != 2 {
		t.Errorf("exported actornet.remote.denied{op=connect,rule=b-upstream} = %d, want 2", n)
	}
	if n := sumWith(rm, "actornet.remote.allowed", "op", "spawn"); n != 4 {
		t.Errorf("exported actornet.remote.allowed{op=spawn} = %d, want 4", n)
	}
}

// TestRemoteDefaultPolicy: a node given no policy serves no remote
// request that would open a socket, and says how to allow them.
func TestRemoteDefaultPolicy(t *testing.T) {
	ctx := testkit.Context(t)
	a := testkit.System(t, actors.WithRemote(""))
	b := testkit.System(t, actors.WithRemote(""))
	_, err := tcp.NewClientAt(ctx, b, a.Address())
	if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "actors.WithRemotePolicy") {
		t.Fatalf("spawn on a node without a policy: %v", err)
	}
	if n := a.Sockets(); n != 0 {
		t.Fatalf("node A has %d socket actors", n)
	}
}

func goListener(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func goPacketConn(t *testing.T) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// sumWith returns the int64 sum name whose attributes include the given
// key, value pairs (0 if none).
func sumWith(rm metricdata.ResourceMetrics, name string, kv ...string) int64 {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			d, ok := m.Data.(metricdata.Sum[int64])
			if m.Name != name || !ok {
				continue
			}
		points:
			for _, p := range d.DataPoints {
				for i := 0; i+1 < len(kv); i += 2 {
					if v, ok := p.Attributes.Value(attribute.Key(kv[i])); !ok || v.AsString() != kv[i+1] {
						continue points
					}
				}
				return p.Value
			}
		}
	}
	return 0
}
