package filter

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

// bestOf returns the smallest thread CPU time of several runs of f; the test compares growth between
// sizes, never absolute times.
func bestOf(runs int, f func()) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	best := time.Duration(1 << 62)
	for i := 0; i < runs; i++ {
		start := threadCPUTime()
		f()
		if d := threadCPUTime() - start; d < best {
			best = d
		}
	}
	return best
}

// TestLinearEvaluation feeds hostile patterns inputs of size n and 16n. Linear evaluation grows ~16×;
// a backtracking glob, an exponential regex or a quadratic scan would grow ≥256×. The bound (64×)
// leaves room for cache effects and noise while still failing anything quadratic.
func TestLinearEvaluation(t *testing.T) {
	if testing.Short() {
		t.Skip("timing growth test")
	}
	cases := []struct {
		name    string
		pattern string
		msg     func(n int) []byte
	}{
		{"glob many stars", `{ $.a = "*a*a*a*a*a*a*a*a*a*a*b" }`, func(n int) []byte {
			return []byte(`{"a":"` + strings.Repeat("a", n) + `"}`)
		}},
		{"glob in space field", `[x = *a*a*a*a*a*a*a*b, ...]`, func(n int) []byte {
			return []byte(strings.Repeat("a", n) + " tail")
		}},
		{"regex nested stars", `%a*a*a*a*a*a*a*a*c%`, func(n int) []byte {
			return bytes.Repeat([]byte("a"), n)
		}},
		{"regex in json", `{ $.a = %x?a*a*a*a*c% }`, func(n int) []byte {
			return []byte(`{"a":"` + strings.Repeat("a", n) + `"}`)
		}},
		{"wildcard over many members", `{ $.* = "zz" || $.a[*].b = 3 }`, func(n int) []byte {
			var b bytes.Buffer
			b.WriteString(`{"a":[`)
			for i := 0; i < n/8; i++ {
				b.WriteString(`{"b":1},`)
			}
			b.WriteString(`{"b":2}]`)
			for i := 0; i < n/8; i++ {
				b.WriteString(`,"k`)
				b.WriteString(strings.Repeat("x", 3))
				b.WriteString(`":"y"`)
			}
			b.WriteString(`}`)
			return b.Bytes()
		}},
		{"deep nesting", `{ $.a.b.c = 1 }`, func(n int) []byte {
			var b bytes.Buffer
			b.WriteString(`{"x":[`)
			for i := 0; i < n/200; i++ {
				b.WriteString(strings.Repeat("[", 99) + strings.Repeat("]", 99) + ",")
			}
			b.WriteString(`1]}`)
			return b.Bytes()
		}},
		{"phrase with repeated prefix", `"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"`, func(n int) []byte {
			return bytes.Repeat([]byte("a"), n)
		}},
		{"many tokens", `[a, ..., z = %^q$%]`, func(n int) []byte {
			return bytes.Repeat([]byte("t "), n/2)
		}},
	}
	// Control: a quadratic loop must register as super-linear, or the harness cannot fail.
	quad := func(m []byte) func() {
		return func() {
			sum := 0
			for i := range m {
				for j := i; j < len(m); j++ {
					sum += int(m[j])
				}
			}
			sink = sum
		}
	}
	cs, cl := bestOf(3, quad(make([]byte, 512))), bestOf(3, quad(make([]byte, 16*512)))
	if r := float64(cl) / float64(max(cs, time.Microsecond)); r < 64 {
		t.Fatalf("control: a quadratic loop grew only %.0f× for 16× input; the measurement cannot detect super-linearity", r)
	}

	// The race detector slows everything down; smaller inputs keep the test quick there and still
	// separate 16× from 256×.
	n, reps := 1<<12, 20
	if raceEnabled {
		n, reps = 1<<10, 4
	}
	for _, c := range cases {
		p := MustCompile(c.pattern)
		small, large := c.msg(n), c.msg(16*n)
		run := func(m []byte) func() {
			return func() {
				for i := 0; i < reps; i++ {
					p.Match(m)
				}
			}
		}
		// A super-linear matcher exceeds the bound on every attempt; noise only on some.
		var ratio float64
		var ts, tl time.Duration
		for attempt := 0; attempt < 3; attempt++ {
			ts = bestOf(5, run(small))
			tl = bestOf(5, run(large))
			if ratio = float64(tl) / float64(max(ts, time.Microsecond)); ratio <= 64 {
				break
			}
		}
		if ratio > 64 {
			t.Errorf("%s: 16× input took %.0f× longer (%v → %v): super-linear", c.name, ratio, ts, tl)
		} else {
			t.Logf("%s: growth %.1f× for 16× input", c.name, ratio)
		}
	}
}

// TestDeepNestingRejected: past CloudWatch's nesting limit a document matches nothing, and the scan
// stops instead of recursing without bound.
func TestDeepNestingRejected(t *testing.T) {
	p := MustCompile(`{ $.a NOT EXISTS }`)
	ok := `{"x":` + strings.Repeat("[", maxDepth-2) + strings.Repeat("]", maxDepth-2) + `}`
	deep := `{"x":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`
	if !p.Match([]byte(ok)) {
		t.Errorf("nesting below the limit should match")
	}
	if p.Match([]byte(deep)) {
		t.Errorf("nesting of 100000 should not match")
	}
}

var sink int
