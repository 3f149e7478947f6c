//go:build !race

// Two nodes in one process: see tcp/remote_test.go for why these run
// without -race.

package actors

import (
	"context"
	"crypto/x509"
	"errors"
	"maps"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
	"github.com/actornet/actornet/test/testkit/certs"
)

const testKind = "actors.test.socket"

func init() {
	RegisterKind(testKind, func(sys *System) *actor.Props {
		return core.SocketProps(sys.Runtime(), nil, func(c *core.Core) (core.SocketActor, core.Protocol) { return core.PlainActor(c), core.Hooks{} })
	})
}

func TestRemoteSpawnAndRequest(t *testing.T) {
	a := newSystem(t, WithRemote(""), WithRemotePolicy(AllowAll))
	b := newSystem(t, WithRemote("127.0.0.1:0"), WithRemotePolicy(AllowAll))
	ctx := testCtx(t)
	if a.Address() == b.Address() || a.Address() == nonhost {
		t.Fatalf("addresses %q and %q", a.Address(), b.Address())
	}
	pid, err := SpawnAt(ctx, b, a.Address(), testKind)
	if err != nil {
		t.Fatal(err)
	}
	if a.Sockets() != 1 {
		t.Fatalf("node A has %d socket actors, want the spawned one", a.Sockets())
	}
	s := SocketOf(b, pid)
	st, err := s.SocketStats(ctx)
	if err != nil || st.GetBytesIn() != 0 {
		t.Fatalf("SocketStats = %v, %v", st, err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The actor is gone: A's dead letters answer, and the caller gets
	// closed rather than waiting.
	if err := s.Close(ctx); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v, want net.ErrClosed", err)
	}

	if _, err := SpawnAt(ctx, b, a.Address(), "no.such.kind"); !errors.Is(err, socket.ErrInvalidArgument) {
		t.Fatalf("unknown kind: %v, want invalid argument", err)
	}
}

// TestRemoteServesOnlyActornetTypes: a message of a foreign type closes the
// stream that carried it before Proto.Actor decodes it, and the node goes
// on serving.
func TestRemoteServesOnlyActornetTypes(t *testing.T) {
	a := newSystem(t, WithRemote(""), WithRemotePolicy(AllowAll))
	b := newSystem(t, WithRemote(""), WithRemotePolicy(AllowAll))
	ctx := testCtx(t)
	node := actor.NewPID(a.Address(), NodeName)
	b.Root().Send(node, structpb.NewStringValue("not served"))
	// Requests queued on B's side of the stream A closed are lost with it,
	// so each attempt has its own deadline.
	for {
		attempt, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_, err := SpawnAt(attempt, b, a.Address(), testKind)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("node A stopped serving: %v", err)
		}
	}
}

// A system without remote sends a foreign PID a core.Call, which dead letters
// answer closed.
func TestRemotePIDWithoutRemote(t *testing.T) {
	sys := newSystem(t)
	ctx := testCtx(t)
	pid := actor.NewPID("127.0.0.1:1", "nobody")
	st, err := Request[*messages.Status](sys.Root(), pid, &messages.Close{}).Wait(ctx)
	if err == nil {
		err = st.Err()
	}
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("request to a foreign PID: %v, want net.ErrClosed", err)
	}
}

func TestRemoteBadAddress(t *testing.T) {
	if _, err := Start(WithRemote("127.0.0.1:99999")); err == nil {
		t.Fatal("Start with port 99999 succeeded")
	}
	if _, err := Start(WithRemote("no-port")); err == nil {
		t.Fatal("Start with no port succeeded")
	}
}

// The guard refuses, before Proto.Actor decodes anything, a message for
// another node (which Proto.Actor would pass on under this node's
// identity) and a command that repeats its address field (which would
// decode to another address than the one the policy read); it lets the
// rest through.
func TestRemoteGuardRefusesRelayAndRepeats(t *testing.T) {
	a := newSystem(t, WithRemote(""), WithRemotePolicy(AllowAll))
	connect := func(ep string) []byte {
		b, err := proto.Marshal(&messages.Connect{Remote: messages.NewEndpoint(netip.MustParseAddrPort(ep))})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	spawn, err := proto.Marshal(&messages.Spawn{Kind: testKind})
	if err != nil {
		t.Fatal(err)
	}
	b := &remote.MessageBatch{
		TypeNames: []string{"actornet.messages.Spawn", "actornet.messages.Connect"},
		Targets:   []*actor.PID{actor.NewPID("127.0.0.1:1", NodeName), actor.NewPID(a.Address(), "$x"), actor.NewPID(a.Address(), NodeName)},
		Envelopes: []*remote.MessageEnvelope{
			{TypeId: 0, Target: 0, MessageData: spawn},                                                       // for another node
			{TypeId: 1, Target: 1, MessageData: append(connect("127.0.0.1:80"), connect("127.0.0.1:22")...)}, // repeated field
			{TypeId: 1, Target: 1, MessageData: connect("127.0.0.1:80")},                                     // fine
			{TypeId: 0, Target: 2, MessageData: spawn},                                                       // fine
		},
	}
	kept := []*remote.MessageEnvelope{b.Envelopes[2], b.Envelopes[3]}
	g := a.guard.stream(context.Background(), nil)
	g.node = "127.0.0.1:2"
	g.check(b)
	if len(b.Envelopes) != 2 || b.Envelopes[0] != kept[0] || b.Envelopes[1] != kept[1] {
		t.Fatalf("kept %v, want the last two", b.Envelopes)
	}
	d := a.Metrics().Remote.Denied
	if d[RemoteDenialKey{Op: "send", Rule: "relay"}] != 1 || d[RemoteDenialKey{Op: OpConnect, Rule: "malformed"}] != 1 || len(d) != 2 {
		t.Fatalf("denied %v, want one relay and one malformed", d)
	}
}

// The sockets a node opened for another are closed when it loses that
// node (its process ended, or the link between them broke): a caller
// that crashed leaves nothing open here. A socket the caller closed
// itself is forgotten.
func TestRemoteNodeLostClosesItsSockets(t *testing.T) {
	a := newSystem(t, WithRemote(""), WithRemotePolicy(AllowAll))
	b := newSystem(t, WithRemote(""))
	ctx := testCtx(t)
	var gone []<-chan *actor.Terminated
	for range 3 {
		pid, err := SpawnAt(ctx, b, a.Address(), testKind)
		if err != nil {
			t.Fatal(err)
		}
		local := actor.NewPID(a.Address(), pid.GetId())
		gone = append(gone, watch(t, a, local))
	}
	if err := b.StopNow(); err != nil {
		t.Fatal(err)
	}
	for i, ch := range gone {
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("socket %d opened for node B still runs after B stopped", i)
		}
	}
	if n := a.Sockets(); n != 0 {
		t.Fatalf("node A has %d socket actors", n)
	}
}

// The guard takes what a calling node sends only as from that node: a
// sender elsewhere, a stop, an answer to a request that went to another
// node, and a grain request carrying a type the node does not serve are
// refused; a stream must first say where its node is, at an address its
// certificate names.
func TestRemoteGuardRules(t *testing.T) {
	a := newSystem(t, WithRemote(""), WithRemotePolicy(AllowAll))
	reg := a.Actors.ProcessRegistry
	waiting := &replyProcess{reg: reg, addr: "127.0.0.9:9"}
	waiting.pid, _ = reg.Add(waiting, replyPrefix+core.SecretName())
	defer reg.Remove(waiting.pid)
	marshal := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	spawn := marshal(&messages.Spawn{Kind: testKind})
	b := &remote.MessageBatch{
		TypeNames: []string{"actornet.messages.Spawn", "actor.Stop", "actor.PoisonPill", "actornet.messages.RecvResult", "cluster.GrainRequest"},
		Targets:   []*actor.PID{actor.NewPID(a.Address(), NodeName), waiting.pid},
		Senders:   []*actor.PID{actor.NewPID("127.0.0.1:2", "caller"), actor.NewPID("10.9.9.9:1", "elsewhere")},
		Envelopes: []*remote.MessageEnvelope{
			{TypeId: 0, Target: 0, Sender: 2, MessageData: spawn}, // a sender elsewhere
			{TypeId: 1, Target: 0, MessageData: marshal(&actor.Stop{})},
			{TypeId: 2, Target: 0, MessageData: marshal(&actor.PoisonPill{})},
			{TypeId: 3, Target: 1, MessageData: marshal(&messages.RecvResult{Data: []byte("forged")})},
			{TypeId: 4, Target: 0, MessageData: marshal(&cluster.GrainRequest{MessageTypeName: "nosuch.Type"})},
			{TypeId: 0, Target: 0, Sender: 1, MessageData: spawn}, // fine
		},
	}
	fine := b.Envelopes[5]
	g := a.guard.stream(context.Background(), nil)
	g.node = "127.0.0.1:2"
	g.check(b)
	if len(b.Envelopes) != 1 || b.Envelopes[0] != fine {
		t.Fatalf("kept %v, want the last only", b.Envelopes)
	}
	want := map[RemoteDenialKey]uint64{{Op: "send", Rule: "sender"}: 1, {Op: "send", Rule: "system"}: 2, {Op: "send", Rule: "reply"}: 1, {Op: "send", Rule: "unserved"}: 1}
	if d := a.Metrics().Remote.Denied; !maps.Equal(d, want) {
		t.Fatalf("denied %v, want %v", d, want)
	}
	if servedType("cluster.PubSubBatchTransport", []string{"cluster."}) {
		t.Fatal("the cluster's pub-sub transports are served")
	}

	// The connect request: an address the certificate names, and one.
	ca := newCA(t, "nodes")
	cert, err := ca.Issue(certs.Leaf{Hosts: []string{"127.0.0.1"}, Name: "node"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	s := &streamGuard{g: a.guard, caller: Caller{Addr: "127.0.0.1:40000", Cert: leaf}}
	connect := func(addr string) error {
		return s.connect(&remote.ConnectRequest{ConnectionType: &remote.ConnectRequest_ServerConnection{ServerConnection: &remote.ServerConnection{SystemId: "x", Address: addr}}})
	}
	if err := connect("127.0.0.2:5"); err == nil {
		t.Fatal("a node whose certificate names 127.0.0.1 claimed 127.0.0.2")
	}
	if err := s.connect(&remote.ConnectRequest{ConnectionType: &remote.ConnectRequest_ClientConnection{ClientConnection: &remote.ClientConnection{SystemId: "x"}}}); err == nil {
		t.Fatal("a client-mode connection was served")
	}
	if err := connect("127.0.0.1:5"); err != nil || s.node != "127.0.0.1:5" {
		t.Fatalf("the node's own address: %v (node %q)", err, s.node)
	}
}

// replyTo records the one answer a reply process gives.
type replyTo struct{ got chan any }

func (r replyTo) Reply(result any) { r.got <- result }

// A request whose node's link failed says why, whichever comes first:
// the endpoint's end (remotePending.fail) or the dead letters its
// writer answers with what it held.
func TestLinkFailureReachesEveryPath(t *testing.T) {
	why := errors.New("remote error: tls: certificate required")
	as := actor.NewActorSystem()
	for _, path := range []string{"dead letter", "endpoint end"} {
		pending := &remotePending{byAddr: map[string]map[*replyProcess]struct{}{},
			linkError: func(string) error { return why }}
		r := replyTo{got: make(chan any, 1)}
		p := &replyProcess{reg: as.ProcessRegistry, cmd: &messages.Spawn{}, reply: r, pending: pending, addr: "127.0.0.1:1"}
		p.pid, _ = as.ProcessRegistry.Add(p, replyPrefix+core.SecretName())
		pending.add(p)
		if path == "dead letter" {
			p.SendUserMessage(p.pid, &actor.DeadLetterResponse{})
		} else {
			pending.fail(p.addr, why)
		}
		got := (<-r.got).(*messages.Spawned).GetStatus()
		if got.GetCode() != messages.IOStatus_IO_STATUS_CLOSED || !strings.Contains(got.GetDetail(), why.Error()) {
			t.Errorf("%s: %v, want closed saying %q", path, got, why)
		}
	}
}
