package udp

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/actornet/actornet/test/testkit"
)

// datagram is one RecvFrom's answer in one value, for the tests' checks;
// Length is the real length RecvFromAsync reports (a truncated datagram's
// is larger than len(Data)).
type datagram struct {
	Data   []byte
	From   netip.AddrPort
	Length int
}

// recvFrom receives one datagram on p within ctx, through RecvFromAsync
// so that the real length comes too.
func recvFrom(ctx context.Context, p *Peer, max int) (datagram, error) {
	res, err := p.RecvFromAsync(max, 0).Wait(ctx)
	if err != nil {
		return datagram{}, err
	}
	from, _ := res.GetSender().AddrPort()
	return datagram{Data: res.GetData(), From: from, Length: int(res.GetLength())}, res.GetStatus().Err()
}

// within is a context that ends after d: the deadline of one call whose
// timeout a test exercises.
func within(t testing.TB, d time.Duration) context.Context { return testkit.Within(t, d) }
