package actors

import (
	"crypto/x509"
	"fmt"
	"strconv"
	"strings"
)

// The operations a Policy decides (RemoteRequest.Op).
const (
	// OpSpawn is a Spawn of a socket actor (SpawnAt, tcp.DialAt,
	// tcp.ListenAt, udp.BindAt): RemoteRequest.Kind names the kind.
	OpSpawn = "spawn"
	// OpConnect is a connection or a datagram to a destination: a TCP
	// Connect, a UDP ConnectPeer or SendTo. RemoteRequest.Address is
	// where it goes.
	OpConnect = "connect"
	// OpListen is a socket that waits for others: a TCP Listen, a UDP
	// Bind or JoinGroup. RemoteRequest.Address is where it binds (for a
	// group, the group's address).
	OpListen = "listen"
)

// Caller is who sent a request to this node over remote: the peer of the
// gRPC connection it came on.
type Caller struct {
	// Addr is the peer's address ("10.0.0.7:51234").
	Addr string
	// Cert is the certificate the peer presented, verified against the
	// node's RemoteTLS; nil on a node without TLS.
	Cert *x509.Certificate
}

// Names are the identities rules match (Rule.Callers): the certificate's
// subject common name, its DNS names and its URIs, in that order; none
// for a caller without a certificate.
func (c Caller) Names() []string {
	if c.Cert == nil {
		return nil
	}
	var names []string
	if cn := c.Cert.Subject.CommonName; cn != "" {
		names = append(names, cn)
	}
	names = append(names, c.Cert.DNSNames...)
	for _, u := range c.Cert.URIs {
		names = append(names, u.String())
	}
	return names
}

// String names the caller for errors and logs: `"node-b" at
// 10.0.0.7:51234`, or "an unauthenticated peer at 127.0.0.1:51234".
func (c Caller) String() string {
	if names := c.Names(); len(names) > 0 {
		return strconv.Quote(names[0]) + " at " + c.Addr
	}
	return "an unauthenticated peer at " + c.Addr
}

// RemoteRequest is a request from another node that opens something on
// this one: what a Policy decides.
type RemoteRequest struct {
	// Caller is who asks.
	Caller Caller
	// Op is OpSpawn, OpConnect or OpListen.
	Op string
	// Command names the command as errors do: "spawn", "connect",
	// "connectpeer", "sendto", "listen", "bind", "joingroup".
	Command string
	// Kind is the kind a spawn asks for ("tcp.client").
	Kind string
	// Address is where a connect goes or a listen binds: "ip:port"
	// ("[ip]:port" for IPv6), "host:port" with the name as the caller
	// wrote it (the node resolves it later), or "unix:PATH".
	Address string
}

// Policy decides which remote requests a node serves (WithRemotePolicy).
// Authorize returns nil to allow r, or an error saying why not, best a
// *Denial naming the rule: the caller gets it in a permission error, and
// the node counts it by rule (Metrics.Remote). It is called on the gRPC
// stream's goroutine of the calling node, before anything is decoded for
// an actor, and may be called concurrently for several callers.
type Policy interface {
	Authorize(r RemoteRequest) error
}

// PolicyFunc is a function used as a Policy.
type PolicyFunc func(RemoteRequest) error

// Authorize calls f.
func (f PolicyFunc) Authorize(r RemoteRequest) error { return f(r) }

// Denial is a Policy's refusal: the rule that decided, and why.
type Denial struct {
	// Rule names the rule ("default" when none applied).
	Rule string
	// Reason says why, in words.
	Reason string
}

// Error formats the denial as `rule "NAME": REASON`.
func (d *Denial) Error() string { return "rule " + strconv.Quote(d.Rule) + ": " + d.Reason }

// AllowAll is the policy of a node whose every caller is trusted with
// everything its own code could do: any kind, any destination, any
// address to listen on. Only for nodes that no one else reaches (a
// loopback address on a machine of one user, tests) or whose callers are
// all authenticated by WithRemoteTLS and trusted alike.
var AllowAll Policy = PolicyFunc(func(RemoteRequest) error { return nil })

// DefaultRule is the name of the rule that refuses what no rule allows.
const DefaultRule = "default"

// denyAll is the policy of a node given none: it serves no remote request
// that would open anything.
var denyAll Policy = PolicyFunc(func(r RemoteRequest) error {
	return &Denial{Rule: DefaultRule, Reason: "this node serves no remote " + r.Op + ": its owner allows remote requests with actors.WithRemotePolicy"}
})

// WithRemotePolicy sets which remote requests the node serves (WithRemote,
// WithCluster): which callers may spawn which socket kinds, connect to
// which destinations and listen on which addresses. NewAllowlist builds
// one from rules; AllowAll trusts every caller. Without this option a node
// refuses every Spawn, Connect, ConnectPeer, SendTo, Listen, Bind and
// JoinGroup that comes over remote, with a permission error
// (socket.ErrPermission); local callers are never asked. Whatever the
// policy, remote messages to the node's pollers are refused. A cluster's
// own kinds (ClusterConfig.Kinds) are activated for any member the
// transport lets in.
func WithRemotePolicy(p Policy) Option {
	return func(o *options) { o.policy = p }
}

// Rule allows the callers it names some remote requests.
type Rule struct {
	// Name names the rule in permission errors and in the metrics.
	Name string
	// Callers are the caller identities the rule applies to (see
	// Caller.Names: a certificate's common name, DNS name or URI); "*"
	// is every caller, those without a certificate included.
	Callers []string
	// Spawn are the kinds the callers may spawn ("tcp.client",
	// "tcp.listener", "udp.peer"); "*" is every kind.
	Spawn []string
	// Connect are the destinations the callers may connect to or send
	// datagrams to, and Listen the addresses they may listen on or bind,
	// each "HOST:PORT" or "unix:PATTERN":
	//   - HOST is an IP address ("127.0.0.1", "[::1]"), a prefix
	//     ("10.0.0.0/8", "[fd00::/8]"; an IPv4-mapped IPv6 address is
	//     matched as the IPv4 one, so an IPv6 prefix never matches it),
	//     "*" for any address or name, or a
	//     host name, which matches only a request that names that host
	//     (an address it resolves to does not: the name may later resolve
	//     elsewhere); empty matches an empty host (":8080").
	//   - PORT is a port ("443"), a range ("8000-8099") or "*". A listen
	//     on port 0 (a port the kernel picks) matches "0" or a range
	//     from 0, "*" included.
	//   - PATTERN is a path pattern as path.Match reads it
	//     ("/run/app/*.sock", "@name").
	Connect []string
	Listen  []string
}

// Allowlist is a Policy that allows what its rules list and refuses the
// rest (NewAllowlist).
type Allowlist struct {
	rules []compiledRule
}

type compiledRule struct {
	Rule
	anyCaller bool
	anyKind   bool
	connect   []addrPattern
	listen    []addrPattern
}

// NewAllowlist returns the policy that allows a remote request when one of
// rules names its caller and lists what it asks for. The error names the
// rule and the pattern that does not parse.
func NewAllowlist(rules ...Rule) (*Allowlist, error) {
	l := &Allowlist{}
	for i, r := range rules {
		if r.Name == "" {
			r.Name = "rule " + strconv.Itoa(i)
		}
		c := compiledRule{Rule: r}
		for _, n := range r.Callers {
			c.anyCaller = c.anyCaller || n == "*"
		}
		for _, k := range r.Spawn {
			c.anyKind = c.anyKind || k == "*"
		}
		var err error
		if c.connect, err = compilePatterns(r.Connect); err != nil {
			return nil, fmt.Errorf("actornet: remote policy: rule %q: connect: %w", r.Name, err)
		}
		if c.listen, err = compilePatterns(r.Listen); err != nil {
			return nil, fmt.Errorf("actornet: remote policy: rule %q: listen: %w", r.Name, err)
		}
		l.rules = append(l.rules, c)
	}
	return l, nil
}

// Authorize allows r when a rule for its caller lists it; otherwise it
// returns a *Denial naming the first rule for the caller (and what that
// rule allows), or DefaultRule when no rule names the caller.
func (l *Allowlist) Authorize(r RemoteRequest) error {
	names := r.Caller.Names()
	var first *compiledRule
	for i := range l.rules {
		c := &l.rules[i]
		if !c.names(names) {
			continue
		}
		if c.allows(r) {
			return nil
		}
		if first == nil {
			first = c
		}
	}
	if first == nil {
		return &Denial{Rule: DefaultRule, Reason: fmt.Sprintf("no rule names %s (remote requests are refused unless a rule allows them)", r.Caller)}
	}
	return &Denial{Rule: first.Name, Reason: first.explain(r)}
}

func (c *compiledRule) names(names []string) bool {
	if c.anyCaller {
		return true
	}
	for _, want := range c.Callers {
		for _, n := range names {
			if strings.EqualFold(want, n) {
				return true
			}
		}
	}
	return false
}

func (c *compiledRule) allows(r RemoteRequest) bool {
	switch r.Op {
	case OpSpawn:
		if c.anyKind {
			return true
		}
		for _, k := range c.Spawn {
			if k == r.Kind {
				return true
			}
		}
		return false
	case OpConnect:
		return matchAny(c.connect, r.Address)
	case OpListen:
		return matchAny(c.listen, r.Address)
	}
	return false
}

// explain says what the rule allows of r's operation.
func (c *compiledRule) explain(r RemoteRequest) string {
	var (
		list []string
		what string
	)
	switch r.Op {
	case OpSpawn:
		list, what = c.Spawn, fmt.Sprintf("spawn %q", r.Kind)
	case OpConnect, OpListen:
		list = c.Connect
		if r.Op == OpListen {
			list = c.Listen
		}
		verb, ok := verbs[r.Command]
		if !ok {
			verb = r.Op + " to"
		}
		what = verb + " " + r.Address
	default:
		return fmt.Sprintf("%s may not %s", r.Caller, r.Op)
	}
	if len(list) == 0 {
		return fmt.Sprintf("%s may not %s (the rule allows no %s)", r.Caller, what, r.Op)
	}
	return fmt.Sprintf("%s may not %s (the rule allows %s: %s)", r.Caller, what, r.Op, strings.Join(list, ", "))
}

// verbs say what a command does with its address, in a refusal.
var verbs = map[string]string{
	"connect":     "connect to",
	"connectpeer": "connect to",
	"sendto":      "send datagrams to",
	"listen":      "listen on",
	"bind":        "bind",
	"joingroup":   "join the group",
}
