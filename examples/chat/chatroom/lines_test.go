package chatroom

import (
	"slices"
	"strings"
	"testing"
)

// TestLines: Lines gives the same lines
// wherever a read ends: "\n" and "\r\n" ends (a '\r' elsewhere is text),
// the longest line, an empty one, a tail kept for the next read. One
// byte more than MaxLine is refused wherever the reads cut it.
func TestLines(t *testing.T) {
	longest := strings.Repeat("y", MaxLine)
	stream := "crlf\r\nlf\n" + longest + "\r\n" + longest + "\na\rb\n\r\ntail"
	want := []string{"crlf", "lf", longest, longest, "a\rb", ""}
	for cut := 0; cut <= len(stream); cut++ {
		m := &Lines{}
		var got []string
		say := func(line []byte) { got = append(got, string(line)) }
		if !m.Split([]byte(stream[:cut]), say) || !m.Split([]byte(stream[cut:]), say) {
			t.Fatalf("cut at %d: refused", cut)
		}
		if !slices.Equal(got, want) || string(m.partial) != "tail" {
			t.Fatalf("cut at %d: lines %q, tail %q; want %q, \"tail\"", cut, got, m.partial, want)
		}
	}
	for _, over := range []string{longest + "z\n", longest + "z\r\n", longest + "zz"} {
		for cut := 0; cut <= len(over); cut++ {
			m := &Lines{}
			say := func([]byte) { t.Fatalf("%d bytes cut at %d: a line said", len(over), cut) }
			if m.Split([]byte(over[:cut]), say) && m.Split([]byte(over[cut:]), say) {
				t.Fatalf("%d bytes cut at %d: accepted", len(over), cut)
			}
		}
	}
}
