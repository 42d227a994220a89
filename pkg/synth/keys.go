package synth

import (
	"crypto"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/logarchive/logarchive/pkg/digest"
)

// signingKey is one synthetic CloudTrail digest key.
type signingKey struct {
	priv        *rsa.PrivateKey
	der         []byte // PKCS#1 RSAPublicKey, as ListPublicKeys returns it
	fingerprint string // lowercase hex MD5 of der
	validFrom   time.Time
	validTo     time.Time
}

// regionKeys are a region's keys, oldest first. CloudTrail keys are per region; the digest's source
// region selects the set, its end time the key.
type regionKeys struct {
	keys     []*signingKey
	rotation time.Time // digests ending at or after rotation use keys[1]
}

func (rk *regionKeys) forTime(t time.Time) *signingKey {
	if !t.Before(rk.rotation) {
		return rk.keys[1]
	}
	return rk.keys[0]
}

// rsaBits is the size of CloudTrail's digest keys.
const rsaBits = 2048

// deterministicKey derives an RSA-2048 key from r. crypto/rsa.GenerateKey cannot be used: since Go
// 1.20 it deliberately ignores the determinism of the reader it is given. The primes here come from
// the seeded stream with math/big's ProbablyPrime (20 Miller-Rabin rounds plus Baillie-PSW, whose bases
// are themselves derived from the candidate, so the search is reproducible). These keys are for
// synthetic test archives only.
func deterministicKey(r *rng) (*rsa.PrivateKey, error) {
	e := big.NewInt(65537)
	one := big.NewInt(1)
	for range 64 {
		p := deterministicPrime(r, rsaBits/2)
		q := deterministicPrime(r, rsaBits/2)
		if p.Cmp(q) == 0 {
			continue
		}
		n := new(big.Int).Mul(p, q)
		if n.BitLen() != rsaBits {
			continue
		}
		pm1 := new(big.Int).Sub(p, one)
		qm1 := new(big.Int).Sub(q, one)
		phi := new(big.Int).Mul(pm1, qm1)
		d := new(big.Int).ModInverse(e, phi)
		if d == nil {
			continue // e shares a factor with p-1 or q-1
		}
		key := &rsa.PrivateKey{
			PublicKey: rsa.PublicKey{N: n, E: int(e.Int64())},
			D:         d,
			Primes:    []*big.Int{p, q},
		}
		key.Precompute()
		if err := key.Validate(); err != nil {
			return nil, fmt.Errorf("synth: derived RSA key is invalid: %w", err)
		}
		return key, nil
	}
	return nil, fmt.Errorf("synth: no RSA key after 64 prime pairs")
}

// smallPrimes are the odd primes below 4096, for sieving candidates before the costly tests.
var smallPrimes = func() []uint64 {
	var ps []uint64
	for n := uint64(3); n < 4096; n += 2 {
		prime := true
		for _, p := range ps {
			if p*p > n {
				break
			}
			if n%p == 0 {
				prime = false
				break
			}
		}
		if prime {
			ps = append(ps, n)
		}
	}
	return ps
}()

// deterministicPrime draws a random odd start with the two top bits set and walks up from it to
// the first probable prime, sieving by small primes with incremental residues so that only about
// one candidate in fifteen reaches ProbablyPrime.
func deterministicPrime(r *rng, bits int) *big.Int {
	buf := make([]byte, bits/8)
	residues := make([]uint64, len(smallPrimes))
	m := new(big.Int)
	for {
		for i := 0; i < len(buf); i += 8 {
			v := r.Uint64()
			for j := 0; j < 8 && i+j < len(buf); j++ {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		buf[0] |= 0xc0 // the two top bits make the product of two such primes exactly 2*bits long
		buf[len(buf)-1] |= 1
		base := new(big.Int).SetBytes(buf)
		for i, p := range smallPrimes {
			residues[i] = m.Mod(base, m.SetUint64(p)).Uint64()
		}
	search:
		for delta := uint64(0); delta < 1<<16; delta += 2 {
			for i, p := range smallPrimes {
				if (residues[i]+delta)%p == 0 {
					continue search
				}
			}
			cand := new(big.Int).Add(base, new(big.Int).SetUint64(delta))
			if cand.BitLen() != bits {
				break
			}
			// One Miller-Rabin round plus Baillie-PSW: no composite is known to pass Baillie-PSW.
			if cand.ProbablyPrime(1) {
				return cand
			}
		}
	}
}

func newSigningKey(priv *rsa.PrivateKey, from, to time.Time) *signingKey {
	der := x509.MarshalPKCS1PublicKey(&priv.PublicKey)
	sum := md5.Sum(der)
	return &signingKey{priv: priv, der: der, fingerprint: hex.EncodeToString(sum[:]), validFrom: from, validTo: to}
}

func (k *signingKey) sign(msg []byte) (string, error) {
	h := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(nil, k.priv, crypto.SHA256, h[:])
	if err != nil {
		return "", fmt.Errorf("synth: sign digest: %w", err)
	}
	return hex.EncodeToString(sig), nil
}

func (k *signingKey) public() digest.PublicKey {
	return digest.PublicKey{Value: k.der, ValidityStartTime: k.validFrom, ValidityEndTime: k.validTo, Fingerprint: k.fingerprint}
}

// keyring holds every region's keys and one unpublished key for the unknown-key tampering.
type keyring struct {
	regions map[string]*regionKeys
	unknown *signingKey
}

// newKeyring derives two keys per region that mimic CloudTrail's rotation (a new key every 20 days,
// each valid 30 days), compressed so that the rotation falls inside the generated hours: the old key
// signs digests ending before the rotation instant, the new one those after; their validity overlaps.
// Keys are derived concurrently (they are independent streams), about 0.1 s each; the unpublished
// key only when withUnknown.
func newKeyring(seed uint64, regions []string, rotation time.Time, withUnknown bool) (*keyring, error) {
	labels := make([]string, 0, 2*len(regions)+1)
	for _, r := range regions {
		labels = append(labels, "key/"+r+"/0", "key/"+r+"/1")
	}
	if withUnknown {
		labels = append(labels, "unknown-key")
	}
	privs := make([]*rsa.PrivateKey, len(labels))
	errs := make([]error, len(labels))
	var wg sync.WaitGroup
	for i, label := range labels {
		wg.Go(func() { privs[i], errs[i] = deterministicKey(newRand(seed, label)) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	const day = 24 * time.Hour
	kr := &keyring{regions: map[string]*regionKeys{}}
	for i, r := range regions {
		kr.regions[r] = &regionKeys{
			rotation: rotation,
			keys: []*signingKey{
				newSigningKey(privs[2*i], rotation.Add(-20*day), rotation.Add(10*day)),
				newSigningKey(privs[2*i+1], rotation, rotation.Add(30*day)),
			},
		}
	}
	if withUnknown {
		kr.unknown = newSigningKey(privs[len(privs)-1], rotation.Add(-15*day), rotation.Add(15*day))
	}
	return kr, nil
}

// publicKeys returns the published keys per region in list-public-keys shape (newest first, as the
// API lists them).
func (kr *keyring) publicKeys() map[string]digest.PublicKeyList {
	out := make(map[string]digest.PublicKeyList, len(kr.regions))
	for region, rk := range kr.regions {
		var l digest.PublicKeyList
		for i := len(rk.keys) - 1; i >= 0; i-- {
			l.PublicKeyList = append(l.PublicKeyList, rk.keys[i].public())
		}
		out[region] = l
	}
	return out
}

// MarshalPublicKeys renders a region → PublicKeyList map as the keys file (indented JSON with the
// regions in sorted order; encoding/json sorts map keys, so the bytes are stable).
func MarshalPublicKeys(keys map[string]digest.PublicKeyList) ([]byte, error) {
	b, err := json.MarshalIndent(keys, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("synth: marshal public keys: %w", err)
	}
	return append(b, '\n'), nil
}
