package core

import (
	"strconv"
	"strings"
	"testing"
)

// Socket actors' names carry 128 random bits: no two alike, none a
// counter a caller could walk through.
func TestSecretName(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		n := SecretName()
		if len(n) != 27 || n[0] != '$' || strings.ContainsAny(n, "/=") {
			t.Fatalf("name %q: want $ and 26 base32 characters", n)
		}
		if _, err := strconv.Atoi(n[1:]); err == nil || seen[n] {
			t.Fatalf("name %q: a number, or seen before", n)
		}
		seen[n] = true
	}
}
