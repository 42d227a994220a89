package synth

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"
)

// rng is a seeded generator with the helpers the record builders need. Each chain owns one, derived
// from the seed and a label, so the draws of one chain never depend on another's.
type rng struct {
	*rand.Rand
}

// newRand derives an independent stream from seed and labels (hashed, so nearby seeds or labels do
// not give correlated streams).
func newRand(seed uint64, labels ...string) *rng {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	for _, l := range labels {
		h.Write([]byte{0})
		h.Write([]byte(l))
	}
	sum := h.Sum(nil)
	var key [32]byte
	copy(key[:], sum)
	return &rng{rand.New(rand.NewChaCha8(key))}
}

const (
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	mixedAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	hexDigits  = "0123456789abcdef"
)

func (r *rng) fromSet(set string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = set[r.IntN(len(set))]
	}
	return string(b)
}

func (r *rng) lowerAlnum(n int) string { return r.fromSet(lowerAlnum, n) }
func (r *rng) upperAlnum(n int) string { return r.fromSet(upperAlnum, n) }
func (r *rng) mixedAlnum(n int) string { return r.fromSet(mixedAlnum, n) }
func (r *rng) hex(n int) string        { return r.fromSet(hexDigits, n) }
func (r *rng) digits(n int) string     { return r.fromSet("0123456789", n) }

// uuid returns a version-4 UUID string.
func (r *rng) uuid() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], r.Uint64())
	binary.LittleEndian.PutUint64(b[8:], r.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

func (r *rng) chance(p float64) bool { return r.Float64() < p }

// pick returns one element of xs, uniformly.
func pick[T any](r *rng, xs []T) T { return xs[r.IntN(len(xs))] }

// weighted returns an index drawn with the given weights.
func (r *rng) weighted(weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

// between returns a uniformly drawn instant in [from, from+span), to the second.
func (r *rng) between(from time.Time, span time.Duration) time.Time {
	secs := int64(span / time.Second)
	if secs <= 0 {
		return from
	}
	return from.Add(time.Duration(r.Int64N(secs)) * time.Second)
}

// publicIP returns an address from the documentation and other public ranges that look real in logs.
func (r *rng) publicIP() string {
	prefixes := [][2]byte{{203, 0}, {198, 51}, {192, 0}, {52, 94}, {54, 239}, {18, 205}, {3, 120}, {81, 2}, {185, 220}, {91, 240}}
	p := pick(r, prefixes)
	return netip.AddrFrom4([4]byte{p[0], p[1], byte(r.IntN(256)), byte(1 + r.IntN(254))}).String()
}

// poisson draws a count with the given mean (Knuth for small means, normal approximation above).
func (r *rng) poisson(mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 60 {
		n := int(mean + r.NormFloat64()*math.Sqrt(mean) + 0.5)
		if n < 0 {
			return 0
		}
		return n
	}
	l := math.Exp(-mean)
	k, p := 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
