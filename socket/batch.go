package socket

import "net/netip"

// MaxBatch is the most datagrams RecvMsgs and SendMsgs move in one call.
const MaxBatch = 32

// Msg is one datagram of a batch. For RecvMsgs, Buf is the buffer to
// receive into and the call sets N (the datagram's real length, as
// RecvFrom returns it: larger than len(Buf) when it was truncated), Addr
// (its sender) and Drops/DropsOK (as RecvMsg's). For SendMsgs, Buf is the
// datagram and Addr where it goes.
type Msg struct {
	Buf     []byte
	N       int
	Addr    netip.AddrPort
	Drops   uint32
	DropsOK bool
}
