package tcp

// The TLS layer's part of a connection's event path (conn_path.go is the
// rest, and says why these functions have files of their own; tls.go is
// the layer): its reads and writes, and the raw reads and writes of
// ciphertext they go through.
//
// The reads: plaintext out of crypto/tls's Conn, as many records' worth
// per call as the socket has brought, and no call into crypto/tls when
// it can only answer "no data yet".
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
//
// The writes: one write(2) per write of the handler's, however many
// records crypto/tls cuts it into.
//
// crypto/tls writes each record to its transport as soon as it is
// sealed, into a buffer it reuses for the next. A write longer than a
// record's plaintext (16 KiB) becomes several records, and was as many
// write(2)s; the layer gathers them and writes them together, for one
// copy (the kernel copies them anyway). A write that makes one record
// goes straight through: gathering it would be a copy for nothing.

import (
	"errors"
	"io"
	"net"
	"sync"

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

// mayHold reports whether crypto/tls may hold plaintext or a complete
// record that a read would return without new bytes from the socket.
// (During the handshake the handshake takes every byte as it comes.)
func (l *tlsLayer) mayHold() bool { return l.established() && !l.in.idle() }

// maxRecordPlain is the most plaintext one TLS record carries.
const maxRecordPlain = 16 << 10

// maxBatchKept is the largest gathering buffer kept for the next write.
const maxBatchKept = 256 << 10

// batches holds gathering buffers (*[]byte), so a connection holds none
// between its writes.
var batches sync.Pool

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

// dry reports whether a Read could only return errWouldBlock: crypto/tls
// is idle and the socket was empty when last read.
func (l *tlsLayer) dry() bool {
	return l.in.track && l.in.idle() && l.owner.rawDrained()
}

// idle reports whether crypto/tls holds neither plaintext nor a
// complete record: a Read would ask the transport for bytes.
func (t *inTracker) idle() bool {
	return t.known && t.empty && t.used == t.records.n
}

// established reports whether the handshake has completed.
func (l *tlsLayer) established() bool { return l.hsDone && l.hsErr == nil }

func (t tlsTransport) Read(p []byte) (int, error) {
	l := t.l
	for {
		if l.aborted {
			return 0, errHandshakeAborted
		}
		n, err := l.owner.rawRead(p)
		if n > 0 {
			l.in.records.feed(p[:n])
		}
		switch {
		case err == nil && n == 0:
			return 0, io.EOF
		case err != errWouldBlock:
			return n, err
		case l.yield == nil:
			return 0, errWouldBlock // the record layer: it keeps its state
		}
		// The handshake waits for bytes: back to the actor until the
		// socket's next Ready.
		if !l.yield(struct{}{}) {
			return 0, errHandshakeAborted
		}
	}
}

// rawRead reads ciphertext for the TLS layer (tlsOwner).
func (a *connActor) rawRead(p []byte) (int, error) {
	sock := a.core.Socket()
	switch {
	case sock == nil:
		return 0, net.ErrClosed
	case a.drained:
		return 0, errWouldBlock // empty at the last read; a Ready says when not
	}
	if reg := a.core.Registration(); reg.Receives() {
		return a.ringRead(reg, p)
	}
	n, err := sock.Read(p)
	a.core.Count(true, n, err)
	switch {
	case err == unix.EAGAIN:
		a.drained = true
		return 0, errWouldBlock
	case err != nil:
		return 0, err
	case n > 0 && n < len(p) && a.core.Registration().ShortReadDrains():
		a.drained = true // a short read emptied the socket
	}
	return n, nil
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

// rawDrained reports whether the socket was empty at the last read, with
// no Ready since (tlsOwner).
func (a *connActor) rawDrained() bool { return a.drained }

// writeTLS encrypts a write the checks of write let through. Its records
// go to the socket, and what the kernel does not take now to the queue;
// its ack goes with its last queued record (at once if none was queued).
// On a poller that sends (io_uring, ringSends) the records are staged
// and sent by the poller's next turn, as a plain write's bytes are, once
// crypto/tls has returned: a send's failure ends the connection, and
// crypto/tls must not be inside its Write then (its close_notify would
// wait on the Write's lock).
func (a *connActor) writeTLS(data []byte, ack uint64, async bool) error {
	l := a.tls
	if !l.established() {
		return a.refuse(ack, errHandshaking, async)
	}
	staging := a.ringSends()
	l.staging, l.queuedOut = staging, false
	err := l.write(data)
	l.staging = false
	if err != nil {
		// Queued, so that the failure answers it as it would a queued
		// write (WriteFailed when the connection ends).
		a.queue.push(queuedWrite{ack: ack})
		a.finish("write", err)
		return a.opError("write", err)
	}
	if l.queuedOut {
		a.queue.items[len(a.queue.items)-1].ack = ack
	} else {
		a.written(ack)
	}
	if staging {
		a.startSend()
	}
	a.checkFilled()
	return nil
}

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

func (t tlsTransport) Write(p []byte) (int, error) {
	if t.l.aborted {
		return 0, net.ErrClosed
	}
	if b := t.l.batch; b != nil {
		*b = append(*b, p...) // written whole when the Write returns (tlsLayer.write)
		return len(p), nil
	}
	if err := t.l.owner.rawWrite(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// rawWrite writes ciphertext for the TLS layer (tlsOwner): at once, and
// what the kernel does not take now (or all of it, behind queued
// writes) to the queue, copied (the layer reuses its buffer). While the
// layer stages, it stages the records for the poller's send instead
// (writeTLS sends them).
func (a *connActor) rawWrite(p []byte) error {
	sock := a.core.Socket()
	if sock == nil || a.mode == closedConn {
		return net.ErrClosed
	}
	if a.tls.staging && (a.queue.len() > 0 || len(p) <= maxStage) {
		if !a.stage(p, 0) {
			a.queue.push(queuedWrite{data: append([]byte(nil), p...)})
			a.queued += len(p)
		}
		a.tls.queuedOut = true
		return nil
	}
	if a.queue.len() == 0 {
		n, err := a.core.WriteNow(p)
		if err != nil || n == len(p) {
			return err
		}
		p = p[n:]
	}
	a.queue.push(queuedWrite{data: append([]byte(nil), p...)})
	a.queued += len(p)
	a.tls.queuedOut = true
	return nil
}
