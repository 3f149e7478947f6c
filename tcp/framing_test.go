package tcp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/actornet/actornet/messages"
	"github.com/actornet/actornet/socket"
)

func mustFraming(t testing.TB) func(Framing, error) Framing {
	return func(f Framing, err error) Framing {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
}

// decodeAll feeds p to a new decoder in chunks of size step and returns
// the frames and the error.
func decodeAll(f Framing, p []byte, step int) ([]string, error) {
	d := f.newDecoder()
	var frames []string
	for len(p) > 0 {
		n := min(step, len(p))
		if err := d.feed(p[:n], func(b []byte) { frames = append(frames, string(b)) }); err != nil {
			return frames, err
		}
		p = p[n:]
	}
	return frames, nil
}

func TestFramingDecoders(t *testing.T) {
	must := mustFraming(t)
	lp := must(LengthPrefixed(2, 100))
	var stream []byte
	for _, m := range []string{"a", "", "hello", strings.Repeat("x", 100)} {
		b, err := lp.encode([]byte(m))
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, b...)
	}
	lines := must(Lines(5))
	tests := []struct {
		name    string
		f       Framing
		in      []byte
		want    []string
		wantErr error
	}{
		{name: "length prefixed", f: lp, in: stream, want: []string{"a", "", "hello", strings.Repeat("x", 100)}},
		{name: "length over max", f: lp, in: []byte{0, 101}, wantErr: ErrFrameTooLarge},
		{name: "lines", f: lines, in: []byte("ab\n\ncd\r\nxy"), want: []string{"ab", "", "cd\r"}},
		{name: "line over max", f: lines, in: []byte("abcdef"), wantErr: ErrFrameTooLarge},
		{name: "line over max before newline", f: lines, in: []byte("abc\nabcdefgh\n"), want: []string{"abc"}, wantErr: ErrFrameTooLarge},
	}
	for _, tt := range tests {
		for _, step := range []int{1, 3, 1 << 20} {
			frames, err := decodeAll(tt.f, tt.in, step)
			if !errors.Is(err, tt.wantErr) || strings.Join(frames, "|") != strings.Join(tt.want, "|") {
				t.Errorf("%s, step %d: frames %q, err %v; want %q, %v", tt.name, step, frames, err, tt.want, tt.wantErr)
			}
		}
	}
	if _, err := lines.encode([]byte("toolong")); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("encoding a long line: %v", err)
	}
}

func TestFramingConstructors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"prefix 3", second(LengthPrefixed(3, 10))},
		{"max 0", second(LengthPrefixed(2, 0))},
		{"max over 1-byte prefix", second(LengthPrefixed(1, 256))},
		{"lines max 0", second(Lines(0))},
	} {
		if !errors.Is(tc.err, socket.ErrInvalidArgument) {
			t.Errorf("%s: %v; want invalid argument", tc.name, tc.err)
		}
	}
}

func second(_ Framing, err error) error { return err }

// FuzzFramingDecoders: however the stream is cut into reads, the decoders
// produce the same frames and the same verdict.
func FuzzFramingDecoders(f *testing.F) {
	f.Add([]byte("\x00\x03abc\x00\x00\x00\x01z"), 2, false)
	f.Add([]byte("one\ntwo\nthree"), 1, true)
	f.Fuzz(func(t *testing.T, in []byte, step int, useLines bool) {
		if step <= 0 || step > len(in)+1 {
			step = 1
		}
		fr, _ := LengthPrefixed(2, 64)
		if useLines {
			fr, _ = Lines(16)
		}
		whole, errWhole := decodeAll(fr, in, len(in)+1)
		parts, errParts := decodeAll(fr, in, step)
		if (errWhole == nil) != (errParts == nil) || strings.Join(whole, "\x00|") != strings.Join(parts, "\x00|") {
			t.Fatalf("whole: %q %v; in steps of %d: %q %v", whole, errWhole, step, parts, errParts)
		}
	})
}

func TestServeLinesFraming(t *testing.T) {
	forEachFamily(t, func(t *testing.T, addr string) {
		sys := newSystem(t)
		events := make(chan any, 64)
		// The handler answers each line with its upper case; credit is one
		// line at a time.
		shout := func(c *Conn, msg any) {
			if m, ok := msg.(*messages.Received); ok {
				c.Write(bytes.ToUpper(m.GetData()))
			}
		}
		lines := mustFraming(t)(Lines(16))
		l := serve(t, sys, addr, testHandler(events, shout), WithFraming(lines), WithReadCredit(1))
		ctx := testCtx(t)
		c := dial(t, sys, l.Addr().String())
		c.Send(ctx, []byte("one\ntwo\nthr"))
		c.Send(ctx, []byte("ee\n"))
		got, err := c.RecvExact(ctx, len("ONE\nTWO\nTHREE\n"))
		if err != nil || string(got) != "ONE\nTWO\nTHREE\n" {
			t.Fatalf("framed echo = %q, %v", got, err)
		}
		// A line over the limit closes the connection with a clear cause.
		c.Send(ctx, []byte(strings.Repeat("z", 40)))
		ec := next[*messages.ErrorClosed](t, events)
		if !errors.Is(ec.GetCause().Err(), socket.ErrInvalidArgument) || ec.GetCause().GetOp() != "frame" {
			t.Fatalf("ErrorClosed = %v; want an invalid frame", ec.GetCause())
		}
		if _, err := c.Recv(ctx, 8); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("after the violation the client read %v; want the connection closed", err)
		}
	})
}

func TestServeLengthPrefixedFraming(t *testing.T) {
	sys := newSystem(t)
	events := make(chan any, 64)
	lp := mustFraming(t)(LengthPrefixed(4, 2<<20))
	l := serve(t, sys, "127.0.0.1:0", testHandler(events, echoing), WithFraming(lp))
	ctx := testCtx(t)
	c := dial(t, sys, l.Addr().String())
	big := bytes.Repeat([]byte{7}, 1<<20)
	frame, _ := lp.encode(big)
	c.Send(ctx, frame)
	got, err := c.RecvExact(ctx, len(frame))
	if err != nil || !bytes.Equal(got, frame) {
		t.Fatalf("a 1 MiB frame echoed: %d bytes, %v", len(got), err)
	}
	r := next[*messages.Received](t, events)
	if len(r.GetData()) != len(big) {
		t.Fatalf("handler got a %d-byte frame; want one %d-byte frame", len(r.GetData()), len(big))
	}
}
