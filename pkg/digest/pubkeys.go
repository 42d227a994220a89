package digest

import (
	"context"
	"crypto"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// Fingerprint is CloudTrail's key fingerprint: lowercase hex MD5 of the DER bytes as returned.
func Fingerprint(der []byte) string {
	s := md5.Sum(der)
	return hex.EncodeToString(s[:])
}

// ParsePublicKey loads a CloudTrail public key: PKCS#1 RSAPublicKey as documented, falling back to
// SubjectPublicKeyInfo (one key in AWS's own documentation is SPKI; aws-cli cannot load it).
func ParsePublicKey(der []byte) (*rsa.PublicKey, error) {
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("public key is neither PKCS#1 nor SubjectPublicKeyInfo: %w", err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, not RSA", k)
	}
	return rk, nil
}

// VerifySignature checks a hex signature (either case) over msg with RSASSA-PKCS1-v1_5 and SHA-256
// (Java's SHA256withRSA). A malformed hex string yields ClassMalformedSig with Python's wording, a
// wrong signature ClassSignature.
func VerifySignature(pub *rsa.PublicKey, msg []byte, sigHex string) *CheckError {
	sig, err := hex.DecodeString(sigHex)
	if err != nil {
		// aws-cli prints binascii's exception text for these.
		text := "Non-hexadecimal digit found"
		var odd hex.InvalidByteError
		if errors.Is(err, hex.ErrLength) || (len(sigHex)%2 == 1 && !errors.As(err, &odd)) {
			text = "Odd-length string"
		}
		return &CheckError{Class: ClassMalformedSig, Msg: text, Err: err}
	}
	h := sha256.Sum256(msg)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
		return &CheckError{Class: ClassSignature, Msg: "signature verification failed", Err: err}
	}
	return nil
}

// KeySource lists the CloudTrail public keys of one region whose validity overlaps [start, end].
type KeySource interface {
	PublicKeys(ctx context.Context, region string, start, end time.Time) ([]PublicKey, error)
}

// CloudTrailKeys is a KeySource over cloudtrail:ListPublicKeys, one client per region, paginated
// (NextToken is documented as reserved, but the SDK models a paginator; a silent truncation would turn
// into "public key not found").
type CloudTrailKeys struct {
	cfg    aws.Config
	optFns []func(*cloudtrail.Options)
	mu     sync.Mutex
	byReg  map[string]*cloudtrail.Client
}

// NewCloudTrailKeys returns a KeySource that calls ListPublicKeys in each digest's source region.
func NewCloudTrailKeys(cfg aws.Config, optFns ...func(*cloudtrail.Options)) *CloudTrailKeys {
	return &CloudTrailKeys{cfg: cfg, optFns: optFns, byReg: map[string]*cloudtrail.Client{}}
}

func (c *CloudTrailKeys) client(region string) *cloudtrail.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.byReg[region]
	if !ok {
		fns := append([]func(*cloudtrail.Options){func(o *cloudtrail.Options) {
			if region != "" {
				o.Region = region
			}
		}}, c.optFns...)
		cl = cloudtrail.NewFromConfig(c.cfg, fns...)
		c.byReg[region] = cl
	}
	return cl
}

// PublicKeys implements KeySource.
func (c *CloudTrailKeys) PublicKeys(ctx context.Context, region string, start, end time.Time) ([]PublicKey, error) {
	p := cloudtrail.NewListPublicKeysPaginator(c.client(region), &cloudtrail.ListPublicKeysInput{
		StartTime: aws.Time(start), EndTime: aws.Time(end)})
	var out []PublicKey
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("cloudtrail ListPublicKeys in %s for %s..%s: %w", region, DisplayTime(start), DisplayTime(end), err)
		}
		for _, k := range page.PublicKeyList {
			out = append(out, PublicKey{Value: k.Value, ValidityStartTime: aws.ToTime(k.ValidityStartTime),
				ValidityEndTime: aws.ToTime(k.ValidityEndTime), Fingerprint: aws.ToString(k.Fingerprint)})
		}
	}
	return out, nil
}

// FileKeys is a KeySource over a list-public-keys JSON document, for offline validation. AnyRegion
// holds the keys of a single-region document, used for every region.
type FileKeys struct {
	ByRegion  map[string][]PublicKey
	AnyRegion []PublicKey
}

// KeyFileError reports an unusable public-keys file.
type KeyFileError struct {
	Path   string
	Region string
	Reason string
}

func (e *KeyFileError) Error() string {
	where := e.Path
	if e.Region != "" {
		where += " region " + e.Region
	}
	return "public keys file " + where + ": " + e.Reason
}

// LoadKeysFile reads a keys file: the output of `aws cloudtrail list-public-keys` (one region, used for
// every region) or a JSON object mapping region names to such documents or to bare key arrays. Every
// key's fingerprint must equal md5(Value) and Value must parse as an RSA key.
func LoadKeysFile(path string) (*FileKeys, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read public keys: %w", err)
	}
	return ParseKeysFile(path, b)
}

// ParseKeysFile is LoadKeysFile over bytes; name is used in errors.
func ParseKeysFile(name string, b []byte) (*FileKeys, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, &KeyFileError{Path: name, Reason: "not a JSON object: " + err.Error()}
	}
	fk := &FileKeys{ByRegion: map[string][]PublicKey{}}
	if raw, ok := top["PublicKeyList"]; ok && len(top) <= 2 { // {"PublicKeyList":[…], "NextToken":…}
		keys, err := decodeKeyList(name, "", raw)
		if err != nil {
			return nil, err
		}
		fk.AnyRegion = keys
		return fk, nil
	}
	regions := make([]string, 0, len(top))
	for r := range top {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	for _, r := range regions {
		raw := top[r]
		var doc PublicKeyList
		if err := json.Unmarshal(raw, &doc); err == nil && doc.PublicKeyList != nil {
			raw, _ = json.Marshal(doc.PublicKeyList)
		}
		keys, err := decodeKeyList(name, r, raw)
		if err != nil {
			return nil, err
		}
		fk.ByRegion[r] = keys
	}
	if len(fk.ByRegion) == 0 {
		return nil, &KeyFileError{Path: name, Reason: "no keys"}
	}
	return fk, nil
}

func decodeKeyList(name, region string, raw json.RawMessage) ([]PublicKey, error) {
	var keys []PublicKey
	if err := json.Unmarshal(raw, &keys); err != nil {
		return nil, &KeyFileError{Path: name, Region: region, Reason: "not a list of public keys: " + err.Error()}
	}
	for i, k := range keys {
		if len(k.Value) == 0 {
			return nil, &KeyFileError{Path: name, Region: region, Reason: fmt.Sprintf("key %d has no Value", i)}
		}
		if got := Fingerprint(k.Value); !strings.EqualFold(got, k.Fingerprint) {
			return nil, &KeyFileError{Path: name, Region: region,
				Reason: fmt.Sprintf("key %d: Fingerprint %s but md5(Value) is %s", i, k.Fingerprint, got)}
		}
		pub, err := ParsePublicKey(k.Value)
		if err == nil {
			err = checkRSA(pub)
		}
		if err != nil {
			return nil, &KeyFileError{Path: name, Region: region, Reason: fmt.Sprintf("key %s: %v", k.Fingerprint, err)}
		}
		// Fingerprints are hex; digests name them in lower case, as ListPublicKeys does.
		keys[i].Fingerprint = strings.ToLower(k.Fingerprint)
	}
	return keys, nil
}

// checkRSA refuses keys CloudTrail never uses and that could only make every signature fail (or,
// with e = 1, every signature trivially forgeable): CloudTrail keys are RSA-2048 with e = 65537.
func checkRSA(k *rsa.PublicKey) error {
	if bits := k.N.BitLen(); bits < 2048 {
		return fmt.Errorf("%d-bit RSA key (CloudTrail keys are 2048-bit)", bits)
	}
	if k.E < 3 || k.E%2 == 0 {
		return fmt.Errorf("RSA public exponent %d is not an odd number ≥ 3", k.E)
	}
	return nil
}

// PublicKeys implements KeySource: every key of the region (the window is not needed offline).
func (f *FileKeys) PublicKeys(_ context.Context, region string, _, _ time.Time) ([]PublicKey, error) {
	if keys, ok := f.ByRegion[region]; ok {
		return keys, nil
	}
	return f.AnyRegion, nil
}

// errFingerprint marks a key whose published fingerprint is not the MD5 of its bytes.
var errFingerprint = errors.New("public key fingerprint mismatch")

// ringKey is a loaded key.
type ringKey struct {
	PublicKey
	pub *rsa.PublicKey
	err error // parse failure or fingerprint mismatch
}

// KeyRing caches public keys by region and fingerprint. Safe for concurrent use.
type KeyRing struct {
	src     KeySource
	mu      sync.Mutex
	keys    map[string]map[string]*ringKey // region → fingerprint → key
	queried map[string]int                 // region|start|end already asked → keys returned
}

// NewKeyRing returns an empty ring over src.
func NewKeyRing(src KeySource) *KeyRing {
	return &KeyRing{src: src, keys: map[string]map[string]*ringKey{}, queried: map[string]int{}}
}

// Load asks the source for a region's keys in [start, end] (once per window) and adds them; it returns
// how many keys the source returned for that window.
func (r *KeyRing) Load(ctx context.Context, region string, start, end time.Time) (int, error) {
	q := region + "|" + start.UTC().String() + "|" + end.UTC().String()
	r.mu.Lock()
	if n, ok := r.queried[q]; ok {
		r.mu.Unlock()
		return n, nil
	}
	r.mu.Unlock()
	keys, err := r.src.PublicKeys(ctx, region, start, end)
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queried[q] = len(keys)
	m := r.keys[region]
	if m == nil {
		m = map[string]*ringKey{}
		r.keys[region] = m
	}
	for _, k := range keys {
		fp := strings.ToLower(k.Fingerprint)
		if old, ok := m[fp]; ok {
			// The same key listed twice (overlapping queries, a hand-merged file): its validity is
			// the union, so an expired first entry does not shadow a current one.
			if !k.ValidityStartTime.IsZero() && k.ValidityStartTime.Before(old.ValidityStartTime) {
				old.ValidityStartTime = k.ValidityStartTime
			}
			if k.ValidityEndTime.IsZero() || (!old.ValidityEndTime.IsZero() && k.ValidityEndTime.After(old.ValidityEndTime)) {
				old.ValidityEndTime = k.ValidityEndTime
			}
			continue
		}
		rk := &ringKey{PublicKey: k}
		rk.Fingerprint = fp
		rk.pub, rk.err = ParsePublicKey(k.Value)
		if rk.err == nil {
			rk.err = checkRSA(rk.pub)
		}
		if rk.err == nil && Fingerprint(k.Value) != fp {
			rk.err = fmt.Errorf("%w: %s is not md5(Value) %s", errFingerprint, k.Fingerprint, Fingerprint(k.Value))
		}
		m[fp] = rk
	}
	return len(keys), nil
}

func (r *KeyRing) lookup(region, fp string) *ringKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys[region][fp]
}

// UnmarshalJSON accepts the validity times as RFC 3339 strings (aws-cli v2, the SDKs) or as epoch
// seconds (aws-cli v1 prints 1453076702.0), so any list-public-keys output can serve as a keys file.
func (k *PublicKey) UnmarshalJSON(b []byte) error {
	var raw struct {
		Value             []byte          `json:"Value"`
		ValidityStartTime json.RawMessage `json:"ValidityStartTime"`
		ValidityEndTime   json.RawMessage `json:"ValidityEndTime"`
		Fingerprint       string          `json:"Fingerprint"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	start, err := keyTime(raw.ValidityStartTime)
	if err != nil {
		return fmt.Errorf("ValidityStartTime: %w", err)
	}
	end, err := keyTime(raw.ValidityEndTime)
	if err != nil {
		return fmt.Errorf("ValidityEndTime: %w", err)
	}
	*k = PublicKey{Value: raw.Value, ValidityStartTime: start, ValidityEndTime: end, Fingerprint: raw.Fingerprint}
	return nil
}

func keyTime(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, fmt.Errorf("neither a number nor a string: %s", raw)
	}
	t, err := ParseUserTime(s)
	if err != nil {
		return time.Time{}, err
	}
	return t, nil
}
