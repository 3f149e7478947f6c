package actors

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/actornet/actornet/messages"
)

// remoteGuard holds a node's Policy and enforces it on what other nodes
// send: every remote stream passes each message batch through check
// before Proto.Actor decodes it, so a refused command never reaches an
// actor and opens nothing.
type remoteGuard struct {
	sys    *System
	policy Policy

	mu      sync.Mutex
	allowed map[string]uint64          // by op
	denied  map[RemoteDenialKey]uint64 // by op and rule
	// handshakes and handshakeErrors count the TLS handshakes of the
	// node's gRPC server (servedCreds); lastWarn is when a refused one
	// was last logged at Warn.
	handshakes, handshakeErrors uint64
	lastWarn                    time.Time
	// dialErrs are why the last dial to each node failed (dialCreds).
	dialErrs map[string]error
}

func newRemoteGuard(sys *System, p Policy) *remoteGuard {
	if p == nil {
		p = denyAll
	}
	return &remoteGuard{sys: sys, policy: p, allowed: map[string]uint64{}, denied: map[RemoteDenialKey]uint64{}, dialErrs: map[string]error{}}
}

// guardedCommand is a command that opens something, and where in its
// encoding the policy finds what: field 1 is the kind (spawn) or an
// Endpoint, hostPort (when not 0) the field of an address as written.
type guardedCommand struct {
	op       string
	hostPort protowire.Number
	zero     proto.Message // for the refusal of its own result type
	sendTo   bool          // a datagram: its allowed destination is remembered
}

var guardedCommands = map[string]guardedCommand{
	"actornet.messages.Spawn":       {op: OpSpawn, zero: &messages.Spawn{}},
	"actornet.messages.Connect":     {op: OpConnect, hostPort: 2, zero: &messages.Connect{}},
	"actornet.messages.ConnectPeer": {op: OpConnect, zero: &messages.ConnectPeer{}},
	"actornet.messages.SendTo":      {op: OpConnect, zero: &messages.SendTo{}, sendTo: true},
	"actornet.messages.Listen":      {op: OpListen, hostPort: 2, zero: &messages.Listen{}},
	"actornet.messages.Bind":        {op: OpListen, hostPort: 2, zero: &messages.Bind{}},
	"actornet.messages.JoinGroup":   {op: OpListen, zero: &messages.JoinGroup{}},
}

// replyPrefix starts the names of the processes that wait for answers
// from other nodes (requestRemote).
const replyPrefix = "actornet$"

// internalPrefix starts the names of the node's runtime actors (its
// pollers): no remote caller may send them anything.
const internalPrefix = "actornet/"

// streamGuard is the guard of one remote stream: one calling node.
type streamGuard struct {
	g      *remoteGuard
	caller Caller
	// node is the address the calling node said it is at, in its connect
	// request (its certificate names it, under TLS): what it sends must
	// come from there, and a reply process takes only the answer of the
	// node its request went to.
	node string
	// extra are the package prefixes the node serves beside its own.
	extra []string
	// lastSendTo is the destination (an encoded Endpoint) of the last
	// SendTo allowed: a UDP peer sending datagram after datagram to one
	// destination is decided once, and pays a comparison per datagram.
	lastSendTo []byte
	// warned are the rules whose refusals were logged at Warn.
	warned map[string]bool
}

func (g *remoteGuard) stream(ctx context.Context, extra []string) *streamGuard {
	s := &streamGuard{g: g, extra: extra, warned: map[string]bool{}}
	if p, ok := peer.FromContext(ctx); ok {
		s.caller.Addr = p.Addr.String()
		if info, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(info.State.PeerCertificates) > 0 {
			s.caller.Cert = info.State.PeerCertificates[0]
		}
	}
	return s
}

// connect records the address the calling node says it is at (its
// connect request, the first message of a stream), refusing the stream
// when its certificate does not name it, and a client-mode connection,
// which has no address to answer at.
func (s *streamGuard) connect(cr *remote.ConnectRequest) error {
	sc := cr.GetServerConnection()
	if sc == nil || sc.GetAddress() == "" {
		return status.Error(codes.PermissionDenied, "actornet remote: a connection without an address to answer at is not served")
	}
	if s.caller.Cert != nil {
		host, _, err := net.SplitHostPort(sc.GetAddress())
		if err != nil {
			host = sc.GetAddress()
		}
		if err := s.caller.Cert.VerifyHostname(host); err != nil {
			return status.Errorf(codes.PermissionDenied, "actornet remote: the calling node says it is at %s, which its certificate does not name", sc.GetAddress())
		}
	}
	s.node = sc.GetAddress()
	return nil
}

// check drops from b every envelope the policy refuses, answering each
// refused request with a permission error. It runs after servedStream has
// checked the batch's indexes.
func (s *streamGuard) check(b *remote.MessageBatch) {
	kept := b.Envelopes[:0]
	for _, e := range b.Envelopes {
		if cmd, err := s.decide(b, e); err != nil {
			s.refuse(b, e, cmd, err)
			continue
		}
		kept = append(kept, e)
	}
	clear(b.Envelopes[len(kept):])
	b.Envelopes = kept
}

// decide returns the policy's refusal of e, and the command refused.
func (s *streamGuard) decide(b *remote.MessageBatch, e *remote.MessageEnvelope) (RemoteRequest, error) {
	name := b.TypeNames[e.TypeId]
	send := func(rule, reason string) (RemoteRequest, error) {
		r := RemoteRequest{Caller: s.caller, Op: "send", Command: strings.ToLower(name[strings.LastIndexByte(name, '.')+1:])}
		return r, &Denial{Rule: rule, Reason: reason}
	}
	if e.Sender != 0 && b.Senders[e.Sender-1].GetAddress() != s.node {
		// Proto.Actor would send the answer there: a caller could make
		// this node dial any address, or answer another node's request.
		return send("sender", "the message names a sender at "+b.Senders[e.Sender-1].GetAddress()+", not the calling node ("+s.node+")")
	}
	t := b.Targets[e.Target]
	switch {
	case name == "actor.Stop" || name == "actor.PoisonPill":
		return send("system", "another node may not stop this node's actors (close a socket with Close)")
	case strings.HasPrefix(t.GetId(), replyPrefix):
		if p, ok := s.g.sys.Actors.ProcessRegistry.GetLocal(t.GetId()); ok {
			if rp, ok := p.(*replyProcess); ok && rp.addr != s.node {
				return send("reply", "the request waiting there went to "+rp.addr+", not to the calling node ("+s.node+")")
			}
		}
	case name == "cluster.GrainRequest":
		var gr cluster.GrainRequest
		if proto.Unmarshal(e.MessageData, &gr) != nil || !servedType(gr.GetMessageTypeName(), s.extra) {
			return send("unserved", "a grain request carrying "+strconv.Quote(gr.GetMessageTypeName())+", a type this node does not serve")
		}
	}
	if t.GetAddress() != s.g.sys.Actors.Address() {
		// Proto.Actor would pass it on to that node, under this node's
		// identity: a caller refused there could act there through here.
		r := RemoteRequest{Caller: s.caller, Op: "send", Command: strings.ToLower(name[strings.LastIndexByte(name, '.')+1:])}
		return r, &Denial{Rule: "relay", Reason: "the message is for " + t.GetAddress() + ", not this node (" + s.g.sys.Actors.Address() + "): nodes pass nothing on"}
	} else if strings.HasPrefix(t.GetId(), internalPrefix) {
		r := RemoteRequest{Caller: s.caller, Op: "send", Command: strings.ToLower(name[strings.LastIndexByte(name, '.')+1:])}
		return r, &Denial{Rule: "internal", Reason: "the node's own actors (" + t.GetId() + ") take no remote messages"}
	}
	gc, ok := guardedCommands[name]
	if !ok {
		return RemoteRequest{}, nil
	}
	r := RemoteRequest{Caller: s.caller, Op: gc.op, Command: messages.OpName(gc.zero)}
	field1, hostPort, ok := fields(e.MessageData, gc.hostPort)
	if !ok {
		return r, &Denial{Rule: "malformed", Reason: "the command's encoding is malformed or repeats its address field"}
	}
	if gc.sendTo && len(field1) > 0 && bytes.Equal(field1, s.lastSendTo) {
		return RemoteRequest{}, nil
	}
	if gc.op == OpSpawn {
		r.Kind = string(field1)
	} else {
		r.Address = address(field1, hostPort)
	}
	if err := s.g.policy.Authorize(r); err != nil {
		return r, err
	}
	s.g.count(gc.op, "")
	if gc.sendTo {
		s.lastSendTo = append(s.lastSendTo[:0], field1...)
	}
	return r, nil
}

// refuse counts the refusal and answers the request, when it has a
// sender, with the command's own result type carrying the error.
func (s *streamGuard) refuse(b *remote.MessageBatch, e *remote.MessageEnvelope, r RemoteRequest, err error) {
	rule := "policy"
	if d, ok := err.(*Denial); ok {
		rule = d.Rule
	}
	s.g.count(r.Op, rule)
	level := slog.LevelDebug
	if !s.warned[rule] {
		// Once per calling node and rule at Warn: a refused caller may
		// retry in a loop.
		s.warned[rule], level = true, slog.LevelWarn
	}
	s.g.sys.Actors.Logger().Log(context.Background(), level, "actornet: remote request refused", "caller", r.Caller.String(), "op", r.Op, "kind", r.Kind, "address", r.Address, "error", err.Error())
	if e.Sender == 0 || b.Senders[e.Sender-1].GetAddress() != s.node {
		return // no one to answer, or not the calling node: answer no one
	}
	sender := b.Senders[e.Sender-1]
	if e.SenderRequestId > 0 {
		sender = proto.Clone(sender).(*actor.PID)
		sender.RequestId = e.SenderRequestId
	}
	zero := guardedCommands[b.TypeNames[e.TypeId]].zero
	if zero == nil {
		zero = &messages.Withdraw{} // answered by a bare Status
	}
	st := &messages.Status{Code: messages.IOStatus_IO_STATUS_PERMISSION_DENIED, Op: messages.OpName(zero), Detail: err.Error()}
	if path, ok := strings.CutPrefix(r.Address, "unix:"); ok {
		st.Addr = messages.NewUnixEndpoint(path)
	} else if ap, err := netip.ParseAddrPort(r.Address); err == nil {
		st.Addr = messages.NewEndpoint(ap)
	}
	s.g.sys.Actors.Root.Send(sender, messages.Refusal(zero, st))
}

func (g *remoteGuard) count(op, rule string) {
	g.mu.Lock()
	if rule == "" {
		g.allowed[op]++
	} else {
		g.denied[RemoteDenialKey{Op: op, Rule: rule}]++
	}
	g.mu.Unlock()
}

// totals returns a copy of the counters.
func (g *remoteGuard) totals() RemoteTotals {
	if g == nil {
		return RemoteTotals{}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	t := RemoteTotals{Allowed: make(map[string]uint64, len(g.allowed)), Denied: make(map[RemoteDenialKey]uint64, len(g.denied)),
		Handshakes: g.handshakes, HandshakeErrors: g.handshakeErrors}
	for k, v := range g.allowed {
		t.Allowed[k] = v
	}
	for k, v := range g.denied {
		t.Denied[k] = v
	}
	return t
}

// RemoteTotals count what a node's policy decided (Metrics.Remote): the
// requests from other nodes that would open something.
type RemoteTotals struct {
	// Allowed counts the requests allowed, by op (OpSpawn, OpConnect,
	// OpListen). A datagram (SendTo) to the destination of the calling
	// node's last allowed one is neither decided nor counted again.
	Allowed map[string]uint64
	// Denied counts the requests refused, by op and rule.
	Denied map[RemoteDenialKey]uint64
	// Handshakes and HandshakeErrors count the TLS handshakes other
	// nodes made with this one (WithRemoteTLS): completed, and refused (no
	// certificate, one the node does not trust, no TLS, or no TLS
	// handshake finished within RemoteHandshakeTimeout). A connection
	// whose TLS handshake completed but that sends nothing more is closed
	// at that timeout too, and counted as a completed handshake.
	Handshakes, HandshakeErrors uint64
}

// RemoteDenialKey groups refusals: the op ("send" for a message to the
// node's own actors) and the rule that refused it ("default", "internal"
// or a Rule's name; "policy" for a Policy's error that is not a *Denial).
type RemoteDenialKey struct {
	Op, Rule string
}

// fields returns field 1 of a command's encoding (the kind, or an
// encoded Endpoint) and the string field hostPort (none when 0). ok is
// false for an encoding the policy must not decide on: malformed, or
// with field 1 or hostPort more than once (protobuf merges repeated
// message fields and keeps the last string, so the actor would decode
// another address than the one read here).
func fields(b []byte, hostPort protowire.Number) (field1, hp []byte, ok bool) {
	var seen1, seenHP bool
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, nil, false
		}
		b = b[n:]
		if num == 1 || (num == hostPort && hostPort != 0) {
			if (num == 1 && seen1) || (num == hostPort && seenHP) {
				return nil, nil, false
			}
			if typ == protowire.BytesType {
				v, m := protowire.ConsumeBytes(b)
				if m < 0 {
					return nil, nil, false
				}
				if num == 1 {
					field1, seen1 = v, true
				} else {
					hp, seenHP = v, true
				}
				b = b[m:]
				continue
			}
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return nil, nil, false
		}
		b = b[m:]
	}
	return field1, hp, true
}

// address is the address a command names: its Endpoint ("ip:port",
// "unix:PATH") when it has one, otherwise its address as written.
func address(endpoint, hostPort []byte) string {
	if len(endpoint) > 0 {
		var ep messages.Endpoint
		if proto.Unmarshal(endpoint, &ep) != nil {
			return ""
		}
		if ep.IsUnix() {
			return "unix:" + ep.GetPath()
		}
		if ap, err := ep.AddrPort(); err == nil && ap.IsValid() {
			return ap.String()
		}
	}
	return string(hostPort)
}
