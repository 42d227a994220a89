package pqwrite

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestPrefix8Order: where the 8-byte prefixes of two byte strings differ, the strings compare
// the same way (the page bounds' shortcut relies on it), for short strings, strings with zero
// bytes, and bytes above 0x7f.
func TestPrefix8Order(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte{0, 1, 'a', 'b', 0x7f, 0x80, 0xff}
	gen := func() []byte {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return b
	}
	differ := 0
	for range 200000 {
		a, b := gen(), gen()
		pa, pb := prefix8(a), prefix8(b)
		if pa == pb {
			continue
		}
		differ++
		if (pa < pb) != (bytes.Compare(a, b) < 0) {
			t.Fatalf("%q (prefix %#x) and %q (prefix %#x) compare %d", a, pa, b, pb, bytes.Compare(a, b))
		}
	}
	if differ == 0 {
		t.Fatal("no pair with different prefixes")
	}
}
