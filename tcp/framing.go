package tcp

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/actornet/actornet/socket"
)

// Framing splits a push-mode connection's byte stream into messages: each
// Received then carries one whole frame, read credit counts frames, and
// each Write is framed on the way out. A frame over the limit closes the
// connection with ErrorClosed (invalid_argument, op "frame"). Use
// LengthPrefixed or Lines with WithFraming.
type Framing interface {
	newDecoder() decoder
	encode(p []byte) ([]byte, error)
}

// decoder turns stream bytes into frames; it holds at most one frame's
// worth of bytes.
type decoder interface {
	// feed consumes p, calling emit for every complete frame (the slice is
	// the frame's own copy). It fails on a frame over the limit.
	feed(p []byte, emit func([]byte)) error
}

// ErrFrameTooLarge is the cause of a connection closed for a frame (or
// line) over the limit.
var ErrFrameTooLarge = fmt.Errorf("%w: frame over the limit", socket.ErrInvalidArgument)

// LengthPrefixed frames messages with a big-endian length prefix of size
// bytes (1, 2 or 4) and at most max bytes of payload.
func LengthPrefixed(size, max int) (Framing, error) {
	if size != 1 && size != 2 && size != 4 {
		return nil, fmt.Errorf("%w: length prefix of %d bytes (want 1, 2 or 4)", socket.ErrInvalidArgument, size)
	}
	limit := 1<<(8*size) - 1
	if max <= 0 || max > limit {
		return nil, fmt.Errorf("%w: max frame %d (want 1..%d for a %d-byte prefix)", socket.ErrInvalidArgument, max, limit, size)
	}
	return lengthPrefixed{size: size, max: max}, nil
}

type lengthPrefixed struct{ size, max int }

func (f lengthPrefixed) newDecoder() decoder { return &lengthDecoder{f: f} }

func (f lengthPrefixed) encode(p []byte) ([]byte, error) {
	if len(p) > f.max {
		return nil, ErrFrameTooLarge
	}
	out := make([]byte, f.size+len(p))
	putLength(out[:f.size], len(p))
	copy(out[f.size:], p)
	return out, nil
}

func putLength(b []byte, n int) {
	switch len(b) {
	case 1:
		b[0] = byte(n)
	case 2:
		binary.BigEndian.PutUint16(b, uint16(n))
	default:
		binary.BigEndian.PutUint32(b, uint32(n))
	}
}

func getLength(b []byte) int {
	switch len(b) {
	case 1:
		return int(b[0])
	case 2:
		return int(binary.BigEndian.Uint16(b))
	}
	return int(binary.BigEndian.Uint32(b))
}

type lengthDecoder struct {
	f      lengthPrefixed
	head   []byte // prefix bytes so far
	body   []byte // payload so far: it grows with what arrives, never with the length announced
	want   int    // payload length announced by the prefix
	inBody bool
}

func (d *lengthDecoder) feed(p []byte, emit func([]byte)) error {
	for len(p) > 0 {
		if !d.inBody {
			take := min(d.f.size-len(d.head), len(p))
			d.head = append(d.head, p[:take]...)
			p = p[take:]
			if len(d.head) < d.f.size {
				return nil
			}
			n := getLength(d.head)
			d.head = d.head[:0]
			if n > d.f.max {
				return ErrFrameTooLarge
			}
			if n == 0 {
				emit([]byte{})
				continue
			}
			d.want, d.inBody = n, true
			d.body = make([]byte, 0, min(n, max(len(p), 64)))
		}
		take := min(d.want-len(d.body), len(p))
		d.body = append(d.body, p[:take]...)
		p = p[take:]
		if len(d.body) == d.want {
			emit(d.body)
			d.body, d.inBody = nil, false
		}
	}
	return nil
}

// Lines frames messages as lines ending in '\n' (a trailing '\r' is
// kept), of at most max bytes before the newline. Received carries the
// line without its '\n'; each Write gets one appended. A last line with
// no '\n' when the peer half-closes is not delivered: it is not a line.
func Lines(max int) (Framing, error) {
	if max <= 0 {
		return nil, fmt.Errorf("%w: max line %d", socket.ErrInvalidArgument, max)
	}
	return lines{max: max}, nil
}

type lines struct{ max int }

func (f lines) newDecoder() decoder { return &lineDecoder{max: f.max} }

func (f lines) encode(p []byte) ([]byte, error) {
	if len(p) > f.max {
		return nil, ErrFrameTooLarge
	}
	out := make([]byte, len(p)+1)
	copy(out, p)
	out[len(p)] = '\n'
	return out, nil
}

type lineDecoder struct {
	max  int
	line []byte
}

func (d *lineDecoder) feed(p []byte, emit func([]byte)) error {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(d.line)+len(p) > d.max {
				return ErrFrameTooLarge
			}
			d.line = append(d.line, p...)
			return nil
		}
		if len(d.line)+i > d.max {
			return ErrFrameTooLarge
		}
		line := append(d.line, p[:i]...)
		d.line = nil
		emit(line)
		p = p[i+1:]
	}
	return nil
}
