package tcp

// The TLS layer's reads (tls.go): plaintext out of crypto/tls's Conn,
// as many records' worth per call as the socket has brought, and no
// call into crypto/tls when it can only answer "no data yet".
//
// crypto/tls's Read hands out one record at a time, and learns that no
// further record has come only by asking its transport for more bytes:
// a call that locks its input, allocates a reader and returns the
// transport's errWouldBlock. A server asked that once per event, after
// the record that every echo's read brings. The layer instead counts
// the records that pass through the transport (their headers give their
// lengths) and the records crypto/tls has surely decrypted; when the two
// are equal, crypto/tls holds no plaintext, and the socket was found
// empty (the owner's rawDrained), that call's answer is known: EAGAIN.

import (
	"errors"
	"io"

	"golang.org/x/sys/unix"
)

// recordHeaderLen is the length of a TLS record's header: type (1),
// version (2), length of the body (2).
const recordHeaderLen = 5

// recordCount counts the complete TLS records in a byte stream fed to it
// in pieces of any size.
// Its fields are small: it lives in every TLS connection. The counts
// wrap; only their difference matters.
type recordCount struct {
	got  uint8  // header bytes seen of the record under way (0..5)
	left uint16 // body bytes of the record under way still to come
	n    uint32 // complete records
}

// feed counts the records that p completes.
func (r *recordCount) feed(p []byte) {
	for len(p) > 0 {
		if r.got < recordHeaderLen {
			switch r.got {
			case 3:
				r.left = uint16(p[0]) << 8
			case 4:
				r.left |= uint16(p[0])
			}
			r.got++
			p = p[1:]
		} else {
			k := min(int(r.left), len(p))
			r.left -= uint16(k)
			p = p[k:]
		}
		if r.got == recordHeaderLen && r.left == 0 {
			r.n++
			r.got = 0
		}
	}
}

// inTracker is what the layer knows of crypto/tls's input: how many
// records went in (records), and a lower bound on how many crypto/tls
// has decrypted (used). Used is exact after an errWouldBlock (crypto/tls
// asks for bytes only when no complete record is left); a Read that
// finds its plaintext buffer empty and returns data has decrypted at
// least one more. It can undercount (empty records, a post-handshake
// message, an alert read ahead), never overcount: an undercount only
// costs a Read that returns errWouldBlock.
type inTracker struct {
	track   bool // a server's layer: the owner reports rawDrained
	known   bool // used has been exact once (the handshake's records are in it)
	empty   bool // crypto/tls's plaintext buffer is empty
	records recordCount
	used    uint32
}

// idle reports whether crypto/tls holds neither plaintext nor a
// complete record: a Read would ask the transport for bytes.
func (t *inTracker) idle() bool {
	return t.known && t.empty && t.used == t.records.n
}

// dry reports whether a Read could only return errWouldBlock: crypto/tls
// is idle and the socket was empty when last read.
func (l *tlsLayer) dry() bool {
	return l.in.track && l.in.idle() && l.owner.rawDrained()
}

// mayHold reports whether crypto/tls may hold plaintext or a complete
// record that a read would return without new bytes from the socket.
// (During the handshake the handshake takes every byte as it comes.)
func (l *tlsLayer) mayHold() bool { return l.established() && !l.in.idle() }

// read reads plaintext, as a socket read does: n > 0 bytes, (0, nil) at
// the end of the stream (the peer's close_notify, or its FIN between
// records), EAGAIN once the socket has no more for now. A server's layer
// fills p with as many records as have come (crypto/tls's Read returns
// one); a client's reads one, as it always did.
func (l *tlsLayer) read(p []byte) (int, error) {
	t := &l.in
	n := 0
	for n < len(p) && !l.dry() {
		m, err := l.conn.Read(p[n:])
		if m > 0 {
			if t.empty {
				t.used++
			}
			t.empty = m < len(p)-n // else plaintext may be left over
			n += m
			if !t.track {
				return n, nil
			}
			continue // an error with data comes again at the next Read
		}
		if errors.Is(err, errWouldBlock) {
			t.known, t.empty, t.used = true, true, t.records.n
			break
		}
		if n > 0 {
			return n, nil // crypto/tls's errors (io.EOF too) stay: the next Read returns this one
		}
		if err == io.EOF {
			return 0, nil
		}
		return 0, tlsFailure(err)
	}
	if n == 0 {
		return 0, unix.EAGAIN
	}
	return n, nil
}
