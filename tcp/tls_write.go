package tcp

// The TLS layer's writes (tls.go): one write(2) per write of the
// handler's, however many records crypto/tls cuts it into.
//
// crypto/tls writes each record to its transport as soon as it is
// sealed, into a buffer it reuses for the next. A write longer than a
// record's plaintext (16 KiB) becomes several records, and was as many
// write(2)s; the layer gathers them and writes them together, for one
// copy (the kernel copies them anyway). A write that makes one record
// goes straight through: gathering it would be a copy for nothing.

import (
	"net"
	"sync"
)

// maxRecordPlain is the most plaintext one TLS record carries.
const maxRecordPlain = 16 << 10

// maxBatchKept is the largest gathering buffer kept for the next write.
const maxBatchKept = 256 << 10

// batches holds gathering buffers (*[]byte), so a connection holds none
// between its writes.
var batches sync.Pool

// write encrypts p and writes it (what the kernel does not take now is
// queued by the owner).
func (l *tlsLayer) write(p []byte) error {
	if len(p) <= maxRecordPlain || l.batch != nil {
		if _, err := l.conn.Write(p); err != nil {
			return tlsFailure(err)
		}
		return nil
	}
	b, ok := batches.Get().(*[]byte)
	if !ok {
		b = new([]byte)
	}
	l.batch = b
	_, err := l.conn.Write(p)
	l.batch = nil
	switch {
	case err != nil:
	case l.aborted:
		err = net.ErrClosed
	case len(*b) > 0:
		err = l.owner.rawWrite(*b) // copies what it queues
	}
	if cap(*b) <= maxBatchKept {
		*b = (*b)[:0]
		batches.Put(b)
	}
	if err != nil {
		return tlsFailure(err)
	}
	return nil
}
