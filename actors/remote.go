package actors

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/actornet/actornet/actors/core"
	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

// NodeName is the name of the actor through which other nodes spawn socket
// actors on a system started WithRemote.
const NodeName = "actornet"

// DefaultRemoteAddress is where WithRemote("") listens: loopback, on a port
// the kernel picks.
const DefaultRemoteAddress = "127.0.0.1:0"

// RemoteHandshakeTimeout bounds how long a connection to a node's remote
// port may take to finish its handshake (TLS, then HTTP/2's preface)
// before the node closes it.
const RemoteHandshakeTimeout = 10 * time.Second

// remoteHandshakeTimeout is RemoteHandshakeTimeout, shortened by tests.
var remoteHandshakeTimeout = RemoteHandshakeTimeout

// WithRemote makes the system a node other processes can reach through
// Proto.Actor remote (gRPC) on addr, "host:port"; "" means
// DefaultRemoteAddress. Remote is off unless this option is given. A node
// accepts only this library's message types (and Proto.Actor's own system
// messages), and other nodes may spawn on it only the kinds registered
// with RegisterKind: "tcp.client", "tcp.listener", "udp.peer".
//
// Remote has no authentication of its own: a node listens on loopback, or
// with WithRemoteTLS (mutual TLS: only nodes with a certificate it trusts
// get in), or, on a network only trusted nodes reach, WithInsecureRemote;
// Start refuses any other address.
func WithRemote(addr string) Option {
	return func(o *options) {
		if addr == "" {
			addr = DefaultRemoteAddress
		}
		o.remote = addr
	}
}

// MaxRemoteMessage is the largest encoded size (proto.Size) of a command
// a request may send to a socket actor on another node, and the most data
// a Recv, RecvExact or RecvFrom to such an actor may ask for: Proto.Actor
// remote sends each message through gRPC, whose receiver takes at most
// 4 MiB per message (gRPC's default, which Proto.Actor remote keeps at the
// pinned version), less room for the envelope around the message. Request
// refuses a larger one before sending it (see Request); a Send of more
// data over remote is split by the caller into several. Local requests
// have no such limit.
const MaxRemoteMessage = grpcMaxMessage - remoteEnvelopeRoom

const (
	// grpcMaxMessage is gRPC's default receive limit per message.
	grpcMaxMessage = 4 << 20
	// remoteEnvelopeRoom is kept for what Proto.Actor wraps a message in
	// (type name, target and sender PIDs, batch fields) and for the
	// fields of an answer beside its data (status, addresses).
	remoteEnvelopeRoom = 16 << 10
)

// remoteSizeErr is the error of a request to another node whose command,
// or the answer it asks for, would not fit in one remote message.
func remoteSizeErr(cmd proto.Message) error {
	var answer uint32
	switch c := cmd.(type) {
	case *messages.Recv:
		answer = c.GetMax()
	case *messages.RecvExact:
		answer = c.GetN()
	case *messages.RecvFrom:
		answer = c.GetMax()
	}
	what, n := "an answer of", int(answer)
	if size := proto.Size(cmd); size > MaxRemoteMessage {
		what, n = "this command encodes to", size
	} else if n <= MaxRemoteMessage {
		return nil
	}
	return &socket.OpError{Op: messages.OpName(cmd), Err: fmt.Errorf(
		"%w: over remote, one message is at most 4 MiB (actors.MaxRemoteMessage, %d bytes of data); %s %d bytes",
		syscall.EMSGSIZE, MaxRemoteMessage, what, n)}
}

var kinds sync.Map // kind name → func(*System) *actor.Props

// RegisterKind registers props a node spawns for a Spawn of kind; the tcp
// and udp packages register theirs when imported.
func RegisterKind(kind string, props func(*System) *actor.Props) {
	kinds.Store(kind, props)
}

// Address returns the system's node address ("host:port") when started
// WithRemote, and Proto.Actor's "nonhost" otherwise.
func (s *System) Address() string { return s.Actors.Address() }

// remoteConfig is the Proto.Actor remote configuration of a node on
// addr, "host:port": the interceptors that let in only the types the node
// serves (served, beside actornet's and Proto.Actor's own), one message
// per gRPC frame, one retry.
func remoteConfig(addr string, served []string, sec *RemoteTLS, guard *remoteGuard) (*remote.Config, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("actornet: remote address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("actornet: remote address %q: invalid port", addr)
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.Unmap().IsUnspecified()) {
		return nil, fmt.Errorf("actornet: remote address %q: a wildcard address: other nodes reach this node's actors at the address it listens on, so it must be one they can dial: listen on the interface's own address", addr)
	} else if err == nil && ip.Is6() {
		// Proto.Actor joins host and port with a bare colon.
		host = "[" + host + "]"
	}
	cfg := remote.Configure(host, port, remote.WithServerOptions(
		grpc.StreamInterceptor(onlyServedStream(served, guard)),
		grpc.UnaryInterceptor(noUnary),
		// A connection that has not finished its handshake (TLS and
		// HTTP/2's preface) by then is closed, rather than hold an fd and
		// a goroutine for gRPC's default two minutes.
		grpc.ConnectionTimeout(remoteHandshakeTimeout),
	),
		// One message per gRPC frame: Proto.Actor's endpoint writer would
		// pack up to 1,000 queued messages into one, and gRPC's receiver
		// takes 4 MiB per frame, so messages that each fit under
		// MaxRemoteMessage could together break the link.
		remote.WithEndpointWriterBatchSize(1))
	// A node that lost its link to another tries once more, then says the
	// endpoint terminated (pending requests fail at once, and the next
	// message dials afresh), instead of retrying five times, two seconds
	// apart, in a goroutine nothing can stop.
	cfg.MaxRetryCount = 1
	if err := sec.secure(cfg, guard); err != nil {
		return nil, err
	}
	return cfg, nil
}

// startRemote starts the gRPC endpoint and the node actor.
func (s *System) startRemote(addr string, sec *RemoteTLS) (err error) {
	cfg, err := remoteConfig(addr, nil, sec, s.guard)
	if err != nil {
		return err
	}
	r := remote.NewRemote(s.Actors, cfg)
	defer func() {
		// remote.Start panics when it cannot listen.
		if p := recover(); p != nil {
			err = fmt.Errorf("actornet: remote on %s: %v", addr, p)
		}
	}()
	r.Start()
	s.remote = r
	return s.startNode()
}

// stopRemote stops the gRPC server. Not Proto.Actor's graceful shutdown:
// at this version its endpoint manager's stop races with the endpoint
// writers' goroutines (the race detector reports it); socket actors have
// already answered everything by the time this runs.
func (s *System) stopRemote() {
	if s.remote != nil {
		s.remote.Shutdown(false)
	}
}

// isRemote reports whether pid lives on another node this system can
// reach: a system without remote sends even a foreign PID a Call, which
// dead letters answer closed.
func isRemote(as *actor.ActorSystem, pid *actor.PID) bool {
	addr := as.Address()
	return pid.Address != addr && addr != nonhost
}

// nonhost is Proto.Actor's address of a system without remote.
const nonhost = "nonhost"

// replyProcess is the one-shot process a remote request names as its
// sender: the first message it gets resolves the future, then it leaves
// the registry.
type replyProcess struct {
	reg     *actor.ProcessRegistryValue
	pid     *actor.PID
	cmd     proto.Message
	reply   core.Replier
	once    sync.Once
	pending *remotePending
	addr    string // the node the request went to
}

// remotePending is what one actor system waits on from other nodes, by
// node address, so that a node that goes away fails its requests.
type remotePending struct {
	mu     sync.Mutex
	byAddr map[string]map[*replyProcess]struct{}
	// linkError, when set (a node's guard), is why the last dial to a
	// node failed: a handshake it refused, say.
	linkError func(addr string) error
}

// pendingBySystem holds each actor system's remotePending.
var pendingBySystem sync.Map

func remotePendingOf(as *actor.ActorSystem) *remotePending {
	v, _ := pendingBySystem.LoadOrStore(as, &remotePending{byAddr: map[string]map[*replyProcess]struct{}{}})
	return v.(*remotePending)
}

func (r *remotePending) add(p *replyProcess) {
	r.mu.Lock()
	set := r.byAddr[p.addr]
	if set == nil {
		set = map[*replyProcess]struct{}{}
		r.byAddr[p.addr] = set
	}
	set[p] = struct{}{}
	r.mu.Unlock()
}

func (r *remotePending) remove(p *replyProcess) {
	r.mu.Lock()
	if set := r.byAddr[p.addr]; set != nil {
		delete(set, p)
		if len(set) == 0 {
			delete(r.byAddr, p.addr)
		}
	}
	r.mu.Unlock()
}

// fail answers every request waiting on the node at addr as closed: the
// node is gone, or, when the link to it failed with why (a handshake it
// refused, say), unreachable for that reason.
func (r *remotePending) fail(addr string, why error) {
	r.mu.Lock()
	set := r.byAddr[addr]
	delete(r.byAddr, addr)
	r.mu.Unlock()
	for p := range set {
		p.SendUserMessage(p.pid, linkLost(p.cmd, addr, why))
	}
}

// why is the error the last dial to the node at addr met, if any.
func (r *remotePending) why(addr string) error {
	r.mu.Lock()
	f := r.linkError
	r.mu.Unlock()
	if f == nil {
		return nil
	}
	return f(addr)
}

// linkLost is the answer to cmd when the node at addr cannot be reached:
// closed, saying why when the link's failure is known (a refused
// handshake, say).
func linkLost(cmd proto.Message, addr string, why error) any {
	if why == nil {
		return &actor.DeadLetterResponse{}
	}
	st := &messages.Status{Code: messages.IOStatus_IO_STATUS_CLOSED, Op: messages.OpName(cmd),
		Detail: "the link to node " + addr + " failed: " + why.Error()}
	return messages.Refusal(cmd, st)
}

func (p *replyProcess) SendUserMessage(_ *actor.PID, message interface{}) {
	_, msg, _ := actor.UnwrapEnvelope(message)
	if _, ok := msg.(*actor.DeadLetterResponse); ok && p.pending != nil {
		// The node's link failed: the endpoint writer answers what it
		// held with dead letters, and that can come before the
		// endpoint's end (remotePending.fail). Say why either way.
		msg = linkLost(p.cmd, p.addr, p.pending.why(p.addr))
	}
	if _, ok := msg.(*actor.DeadLetterResponse); ok {
		// The target is gone (stopped, or its node unreachable).
		msg = messages.Rejection(p.cmd, messages.IOStatus_IO_STATUS_CLOSED)
	}
	p.once.Do(func() {
		p.reg.Remove(p.pid)
		if p.pending != nil {
			p.pending.remove(p)
		}
		p.reply.Reply(msg)
	})
}

func (p *replyProcess) SendSystemMessage(*actor.PID, interface{}) {}

func (p *replyProcess) Stop(*actor.PID) {
	p.once.Do(func() {
		p.reg.Remove(p.pid)
		if p.pending != nil {
			p.pending.remove(p)
		}
	})
}

// requestRemote sends msg to a PID on another node, naming a reply
// process as its sender.
func requestRemote(as *actor.ActorSystem, s Sender, pid *actor.PID, msg proto.Message, reply core.Replier) *replyProcess {
	reg := as.ProcessRegistry
	p := &replyProcess{reg: reg, cmd: msg, reply: reply, pending: remotePendingOf(as), addr: pid.Address}
	// An unguessable name: only the node the request went to may answer
	// it (the guard checks), and it cannot even name it by counting.
	p.pid, _ = reg.Add(p, replyPrefix+core.SecretName())
	p.pending.add(p)
	s.Send(pid, &actor.MessageEnvelope{Message: msg, Sender: p.pid})
	return p
}

// RemoteWithdrawWait bounds how long Await waits for a remote actor's last
// word after asking it to withdraw a request: a node that does not answer
// in this time is taken as gone.
const RemoteWithdrawWait = 5 * time.Second

// withdrawRemote asks the remote actor at pid to withdraw the request
// whose reply process is p, and waits for its answer (bounded).
func withdrawRemote[T any](sys *System, pid *actor.PID, f *Future[T], ctxErr error) {
	p := f.remote
	sys.Root().Send(pid, &actor.MessageEnvelope{Message: &messages.Withdraw{}, Sender: p.pid})
	t := time.NewTimer(RemoteWithdrawWait)
	defer t.Stop()
	select {
	case <-f.Done():
	case <-t.C:
		p.Stop(p.pid)
		var zero T
		f.Complete(zero, ctxErr)
	}
}

// servedType reports whether a node deserialises messages of this type:
// this library's and Proto.Actor's own, those whose full name starts with
// one of the extra prefixes, and only if they are known here (Proto.Actor's
// proto serializer panics on an unknown type).
func servedType(name string, extra []string) bool {
	if unservedTypes[name] {
		return false
	}
	ok := strings.HasPrefix(name, "actornet.") || strings.HasPrefix(name, "actor.")
	for _, p := range extra {
		ok = ok || strings.HasPrefix(name, p)
	}
	if !ok {
		return false
	}
	_, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name))
	return err == nil
}

// unservedTypes are Proto.Actor types a node never decodes from another:
// the cluster's pub-sub transports, which carry batches of messages of
// their own types that Proto.Actor decodes on the stream's goroutine,
// where an unknown one crashes the process (actornet does not use
// pub-sub).
var unservedTypes = map[string]bool{
	"cluster.PubSubBatchTransport":            true,
	"cluster.DeliverBatchRequestTransport":    true,
	"cluster.PubSubAutoRespondBatchTransport": true,
}

// onlyServedStream refuses, and closes, a remote stream that carries a
// message type the node does not serve (servedType, with the extra
// prefixes) or another serializer than protobuf, and passes every batch
// through the node's policy (guard): the checks run before Proto.Actor
// decodes anything.
func onlyServedStream(extra []string, guard *remoteGuard) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &servedStream{ServerStream: ss, extra: extra, guard: guard.stream(ss.Context(), extra)})
	}
}

type servedStream struct {
	grpc.ServerStream
	extra []string // prefixes served beside actornet's and Proto.Actor's
	guard *streamGuard
}

func (s *servedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	rm, ok := m.(*remote.RemoteMessage)
	if !ok {
		return nil
	}
	if cr := rm.GetConnectRequest(); cr != nil {
		return s.guard.connect(cr)
	}
	b := rm.GetMessageBatch()
	if b == nil {
		return nil
	}
	if s.guard.node == "" {
		return status.Error(codes.PermissionDenied, "actornet remote: messages before the connect request")
	}
	for _, name := range b.GetTypeNames() {
		if !servedType(name, s.extra) {
			return status.Errorf(codes.PermissionDenied, "actornet remote: message type %q not served", name)
		}
	}
	for _, e := range b.GetEnvelopes() {
		if e.GetSerializerId() != 0 {
			return status.Errorf(codes.PermissionDenied, "actornet remote: serializer %d not served", e.GetSerializerId())
		}
		if int(e.GetTypeId()) >= len(b.GetTypeNames()) || int(e.GetTarget()) >= len(b.GetTargets()) ||
			int(e.GetSender()) > len(b.GetSenders()) || e.GetTypeId() < 0 || e.GetTarget() < 0 || e.GetSender() < 0 {
			return status.Error(codes.InvalidArgument, "actornet remote: malformed batch")
		}
	}
	s.guard.check(b)
	return nil
}

// noUnary refuses Proto.Actor's diagnostic RPCs (process lists): a node
// serves socket actors, not introspection.
func noUnary(context.Context, any, *grpc.UnaryServerInfo, grpc.UnaryHandler) (any, error) {
	return nil, status.Error(codes.PermissionDenied, "actornet remote: not served")
}
