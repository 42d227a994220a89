package synth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"
)

func TestDeterministicKey(t *testing.T) {
	k1, err := deterministicKey(newRand(1, "k"))
	if err != nil {
		t.Fatal(err)
	}
	k2, err := deterministicKey(newRand(1, "k"))
	if err != nil {
		t.Fatal(err)
	}
	k3, err := deterministicKey(newRand(2, "k"))
	if err != nil {
		t.Fatal(err)
	}
	if k1.N.Cmp(k2.N) != 0 || k1.D.Cmp(k2.D) != 0 {
		t.Error("same stream, different keys")
	}
	if k1.N.Cmp(k3.N) == 0 {
		t.Error("different streams, same key")
	}
	if k1.N.BitLen() != 2048 || k1.E != 65537 {
		t.Errorf("key has %d bits, e=%d", k1.N.BitLen(), k1.E)
	}
	h := sha256.Sum256([]byte("message"))
	sig, err := rsa.SignPKCS1v15(nil, k1, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(&k1.PublicKey, crypto.SHA256, h[:], sig); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
}

// BenchmarkDeriveKey compares the seeded derivation with crypto/rsa.GenerateKey (the baseline).
func BenchmarkDeriveKey(b *testing.B) {
	b.Run("baseline-rsa.GenerateKey", func(b *testing.B) {
		for b.Loop() {
			if _, err := rsa.GenerateKey(rand.Reader, rsaBits); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("deterministic", func(b *testing.B) {
		i := uint64(0)
		for b.Loop() {
			i++
			if _, err := deterministicKey(newRand(i, "bench")); err != nil {
				b.Fatal(err)
			}
		}
	})
}
