package digest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Keys are validated when loaded: fingerprints in either case, RSA size and exponent, duplicates
// merged rather than shadowed by an expired first entry.
func TestKeysValidatedAtLoad(t *testing.T) {
	k2048, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	file := func(keys ...PublicKey) []byte {
		b, _ := json.Marshal(PublicKeyList{PublicKeyList: keys})
		return b
	}
	pk := func(pub *rsa.PublicKey, upper bool) PublicKey {
		der := x509.MarshalPKCS1PublicKey(pub)
		fp := Fingerprint(der)
		if upper {
			fp = strings.ToUpper(fp)
		}
		return PublicKey{Value: der, Fingerprint: fp}
	}
	fk, err := ParseKeysFile("k.json", file(pk(&k2048.PublicKey, true)))
	if err != nil {
		t.Fatal(err)
	}
	ring := NewKeyRing(fk)
	ring.Load(context.Background(), "us-east-1", time.Time{}, time.Time{})
	if rk := ring.lookup("us-east-1", Fingerprint(x509.MarshalPKCS1PublicKey(&k2048.PublicKey))); rk == nil || rk.err != nil {
		t.Fatalf("upper-case fingerprint does not match the digest's: %+v", rk)
	}
	for name, pub := range map[string]*rsa.PublicKey{"1024-bit": &k1024.PublicKey, "exponent 1": {N: k2048.N, E: 1}} {
		if _, err := ParseKeysFile("k.json", file(pk(pub, false))); err == nil {
			t.Errorf("%s key loaded", name)
		}
	}
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	expired, current := pk(&k2048.PublicKey, false), pk(&k2048.PublicKey, false)
	expired.ValidityStartTime, expired.ValidityEndTime = now.AddDate(0, 0, -60), now.AddDate(0, 0, -30)
	current.ValidityStartTime, current.ValidityEndTime = now.AddDate(0, 0, -10), now.AddDate(0, 0, 20)
	fk, err = ParseKeysFile("k.json", file(expired, current))
	if err != nil {
		t.Fatal(err)
	}
	ring = NewKeyRing(fk)
	ring.Load(context.Background(), "us-east-1", time.Time{}, time.Time{})
	rk := ring.lookup("us-east-1", expired.Fingerprint)
	if rk == nil || !rk.ValidityEndTime.Equal(current.ValidityEndTime) || !rk.ValidityStartTime.Equal(expired.ValidityStartTime) {
		t.Fatalf("duplicate key validity %+v", rk)
	}
}
