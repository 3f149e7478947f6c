package actors_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/tcp"
)

// A node's policy lists what other nodes may open on it; the rest is
// refused, with the rule named. The node starts with it:
// actors.Start(actors.WithRemote(addr), actors.WithRemoteTLS(sec),
// actors.WithRemotePolicy(policy)).
func ExampleNewAllowlist() {
	policy, err := actors.NewAllowlist(actors.Rule{
		Name:    "gateway",
		Callers: []string{"gateway-1.internal"},
		Spawn:   []string{tcp.KindClient, tcp.KindListener},
		Connect: []string{"10.0.0.0/8:5432", "cache.internal:6379"}, // prefixes, ports, ranges ("8000-8099", "*"); a name only as written
		Listen:  []string{"10.0.1.5:8443", "unix:/run/app/*.sock"},
	})
	if err != nil {
		log.Fatal(err)
	}
	// What the node sees of a caller: the certificate it presented.
	gateway := actors.Caller{Addr: "10.0.1.7:51234", Cert: &x509.Certificate{Subject: pkix.Name{CommonName: "gateway-1.internal"}}}
	fmt.Println(policy.Authorize(actors.RemoteRequest{Caller: gateway, Op: actors.OpConnect, Command: "connect", Address: "10.20.30.40:5432"}))
	fmt.Println(policy.Authorize(actors.RemoteRequest{Caller: gateway, Op: actors.OpListen, Command: "listen", Address: "0.0.0.0:22"}))
	// Output:
	// <nil>
	// rule "gateway": "gateway-1.internal" at 10.0.1.7:51234 may not listen on 0.0.0.0:22 (the rule allows listen: 10.0.1.5:8443, unix:/run/app/*.sock)
}
