package core

import (
	"crypto/rand"
	"encoding/base32"
)

// unpadded is base32 in lower case without padding: 26 characters for
// 16 bytes, safe in an actor name (no "/").
var unpadded = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// SecretName returns a new actor name no one can guess: "$" and 128
// random bits. A socket actor's PID is a capability (whoever holds it
// may drive the socket, from another node too, whatever the node's
// remote policy allows to be opened), so socket actors are named with it
// rather than with Proto.Actor's sequential "$N", which a caller could
// count through.
func SecretName() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (Go 1.24+), or the program crashes
	var out [1 + 26]byte
	out[0] = '$'
	unpadded.Encode(out[1:], b[:])
	return string(out[:])
}
