package digest

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Object is a digest object as read from the store.
type Object struct {
	Bucket, Key string
	Body        []byte            // as stored: gzip
	Metadata    map[string]string // S3 user metadata (keys compared case-insensitively)
	// Reader, when Body is nil, streams the stored object instead (a large one is never held whole);
	// reading more than MaxDigestObject from it fails the check.
	Reader io.Reader
	// MetadataErr, when set, says the object's metadata could not be read (a malformed local
	// sidecar): Metadata is then empty.
	MetadataErr string
	// HoldsLarge says the caller already holds the Checker's Large slot for this object (it read a
	// large body under it), so Check must not take it again.
	HoldsLarge bool
}

// meta looks a metadata key up case-insensitively (SDK v1 canonicalises header names).
func (o *Object) meta(k string) (string, bool) {
	if v, ok := o.Metadata[k]; ok {
		return v, true
	}
	for mk, v := range o.Metadata {
		if strings.EqualFold(mk, k) {
			return v, true
		}
	}
	return "", false
}

// Signature sources recorded in Verified.SignatureFrom.
const (
	SignatureFromMetadata  = "metadata"
	SignatureFromSuccessor = "successor" // the successor's validated previousDigestSignature (offline mode)
)

// Verified is a digest that passed aws-cli's per-digest checks.
type Verified struct {
	Bucket, Key   string
	Name          KeyName
	NameErr       error
	Digest        *Digest
	SHA256        string // hex sha256 of Inflated
	Signature     string // the signature that verified
	MetaSignature string // x-amz-meta-signature, when present
	SignatureFrom string
	Fingerprint   string
	Start, End    time.Time
	Findings      []Finding
}

// Backfill reports whether the digest is a backfill digest (by its key, as aws-cli decides).
func (v *Verified) Backfill() bool { return strings.HasSuffix(v.Key, backfillSuffix) }

// Checker runs the per-digest checks. Keys is required.
type Checker struct {
	Keys *KeyRing
	// StrictKeyWindow turns "signing time outside the key's validity" from a warning into an error.
	StrictKeyWindow bool
	// Large, when not nil, is a one-slot semaphore shared by every Check of a run: a digest that
	// inflates beyond SmallDigest takes it before going on, so however many chains run at once, at
	// most one oversized (or bomb) digest is being decoded.
	Large chan struct{}
}

// SmallDigest is the inflated size up to which digests are decoded without the Large slot (real
// digests are far smaller).
const SmallDigest = 1 << 20

// IsBackfillKey reports whether key names a backfill digest (only the exact suffix counts).
func IsBackfillKey(key string) bool { return strings.HasSuffix(key, backfillSuffix) }

// Check verifies one digest object for the chain whose keys live in region (the source region). It
// runs aws-cli's checks in aws-cli's order (spec §1.5) and returns the first failure as a *CheckError
// carrying aws-cli's message. inherited, when not empty, is the signature the already-verified
// successor names in previousDigestSignature: it stands in for missing metadata (offline mirrors keep
// metadata only for the newest digest) and is cross-checked against metadata otherwise.
func (c *Checker) Check(ctx context.Context, obj Object, region, inherited string) (*Verified, *CheckError) {
	v := &Verified{Bucket: obj.Bucket, Key: obj.Key}
	v.Name, v.NameErr = ParseKey(obj.Key)
	if len(obj.Body) > MaxDigestObject {
		return nil, checkErr(ClassInvalidFormat, "invalid format", "digest object is %d bytes, over %d", len(obj.Body), MaxDigestObject)
	}
	var onLarge func() error
	if c.Large != nil && !obj.HoldsLarge {
		onLarge = func() error {
			select {
			case c.Large <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			obj.HoldsLarge = true // released below
			return nil
		}
		defer func() {
			if obj.HoldsLarge {
				<-c.Large
			}
		}()
	}
	var src io.Reader = bytes.NewReader(obj.Body)
	var counted *countReader
	if obj.Body == nil && obj.Reader != nil {
		counted = &countReader{r: io.LimitReader(obj.Reader, MaxDigestObject+1)}
		src = counted
	}
	d, sum, missing, hasLogs, trailing, err := readDigest(src, onLarge)
	if counted != nil && counted.n > MaxDigestObject {
		return nil, checkErr(ClassInvalidFormat, "invalid format", "digest object is over %d bytes", MaxDigestObject)
	}
	if err != nil {
		return nil, &CheckError{Class: ClassInvalidFormat, Msg: "invalid format", Err: err}
	}
	v.Digest = d
	v.SHA256 = hex.EncodeToString(sum[:])
	if trailing {
		v.Findings = append(v.Findings, Finding{ClassTrailingData, SeverityWarning, "data after the digest's gzip member (ignored, as aws-cli does)"})
	}

	metaSig, hasSig := obj.meta(MetaSignature)
	metaAlg, hasAlg := obj.meta(MetaSignatureAlgorithm)
	switch {
	case hasSig && hasAlg:
		// When the successor names a different signature, LinkFindings reports it.
		v.Signature, v.MetaSignature, v.SignatureFrom = metaSig, metaSig, SignatureFromMetadata
	case inherited != "":
		v.Signature, v.SignatureFrom = inherited, SignatureFromSuccessor
	default:
		if obj.MetadataErr != "" {
			return nil, checkErr(ClassNoSignature, "signature verification failed", "no usable signature metadata: %s", obj.MetadataErr)
		}
		return nil, checkErr(ClassNoSignature, "signature verification failed", "no signature and signature-algorithm metadata")
	}
	if obj.MetadataErr != "" {
		v.Findings = append(v.Findings, Finding{ClassInconsistent, SeverityWarning, "metadata unreadable (" + obj.MetadataErr + "); the verified successor's signature is used"})
	}
	var backfillAt time.Time
	if IsBackfillKey(obj.Key) && v.SignatureFrom == SignatureFromMetadata {
		ts, ok := obj.meta(MetaBackfillTimestamp)
		if !ok {
			return nil, checkErr(ClassInvalidFormat, "invalid format", "backfill digest without %s metadata", MetaBackfillTimestamp)
		}
		t, err := ParseUserTime(ts)
		if err != nil {
			return nil, checkErr(ClassInvalidFormat, "invalid format", "backfill timestamp %q unparsable", ts)
		}
		backfillAt = t
	}
	if missing != "" {
		return nil, checkErr(ClassInvalidFormat, "invalid format", "member %s missing", missing)
	}
	if d.DigestS3Bucket != obj.Bucket || d.DigestS3Object != obj.Key || !d.memberIs("digestS3Bucket", '"') || !d.memberIs("digestS3Object", '"') {
		return nil, checkErr(ClassMoved, "has been moved from its original location",
			"JSON names s3://%s/%s", d.DigestS3Bucket, d.DigestS3Object)
	}
	// aws-cli parses the times only after the signature verified; a bad time is reported then.
	var endErr, startErr error
	v.End, endErr = parseMemberTime(d, "digestEndTime", d.DigestEndTime)
	v.Start, startErr = parseMemberTime(d, "digestStartTime", d.DigestStartTime)

	fp := d.DigestPublicKeyFingerprint
	v.Fingerprint = fp
	var rk *ringKey
	if d.memberIs("digestPublicKeyFingerprint", '"') {
		rk = c.Keys.lookup(region, fp)
	}
	if rk == nil && d.memberIs("digestPublicKeyFingerprint", '"') {
		// aws-cli fetches keys lazily only for backfill digests (around the generation time); a standard
		// digest whose key lies outside the run's window (a link target before --start-time, a
		// rotation edge) is looked up around its own end time too.
		at := v.End
		if !backfillAt.IsZero() {
			at = backfillAt
		}
		if !at.IsZero() {
			from, to := at.Add(-time.Hour), at.Add(time.Hour)
			n, err := c.Keys.Load(ctx, region, from, to)
			if err != nil {
				return nil, &CheckError{Class: ClassKeyNotFound, Msg: err.Error(), Err: err}
			}
			if n == 0 && !backfillAt.IsZero() {
				return nil, checkErr(ClassKeyNotFound, fmt.Sprintf("No public keys found between %s and %s", DisplayTime(from), DisplayTime(to)), "")
			}
			rk = c.Keys.lookup(region, fp)
		}
	}
	if rk == nil {
		return nil, checkErr(ClassKeyNotFound, fmt.Sprintf("public key not found in region %s for fingerprint %s", region, fp), "")
	}
	if errors.Is(rk.err, errFingerprint) {
		return nil, &CheckError{Class: ClassKeyInvalid, Msg: "public key for fingerprint " + fp + " does not match its fingerprint", Err: rk.err}
	}
	if rk.err != nil {
		return nil, &CheckError{Class: ClassKeyInvalid, Msg: "Unable to load PKCS #1 key with fingerprint " + fp, Err: rk.err}
	}
	if ce := VerifySignature(rk.pub, stringToSign(d, v.SHA256), v.Signature); ce != nil {
		// Offline, the verified successor vouches for this digest's signature: a sidecar altered on
		// an intact digest is a finding, not a failure (docs/validate.md, offline mode).
		if inherited == "" || v.SignatureFrom != SignatureFromMetadata || VerifySignature(rk.pub, stringToSign(d, v.SHA256), inherited) != nil {
			return nil, ce
		}
		v.Findings = append(v.Findings, Finding{ClassInconsistent, SeverityWarning,
			"signature metadata does not verify; the signature the verified successor names does"})
		v.Signature, v.SignatureFrom = inherited, SignatureFromSuccessor
	}
	if endErr != nil {
		return nil, &CheckError{Class: ClassInvalidFormat, Msg: endErr.Error(), Err: endErr}
	}
	if startErr != nil {
		return nil, &CheckError{Class: ClassInvalidFormat, Msg: startErr.Error(), Err: startErr}
	}
	if !hasLogs {
		return nil, checkErr(ClassInvalidFormat, "invalid format", "member logFiles missing")
	}
	if d.logFilesErr != nil {
		return nil, &CheckError{Class: ClassInvalidFormat, Msg: "invalid format", Err: d.logFilesErr}
	}

	// Beyond aws-cli: consistency checks on an authentic digest. They are warnings: the signature
	// already binds bucket, key and content, so a disagreement is CloudTrail's, not an attacker's.
	signedAt := v.End
	if !backfillAt.IsZero() {
		signedAt = backfillAt
	}
	if !rk.ValidityStartTime.IsZero() && (signedAt.Before(rk.ValidityStartTime) || (!rk.ValidityEndTime.IsZero() && signedAt.After(rk.ValidityEndTime))) {
		sev := SeverityWarning
		if c.StrictKeyWindow {
			sev = SeverityError
		}
		v.Findings = append(v.Findings, Finding{ClassKeyWindow, sev, fmt.Sprintf("signed at %s, outside key %s validity %s..%s",
			DisplayTime(signedAt), fp, DisplayTime(rk.ValidityStartTime), DisplayTime(rk.ValidityEndTime))})
	}
	v.Findings = append(v.Findings, consistency(v, metaAlg, hasAlg)...)
	return v, nil
}

func consistency(v *Verified, metaAlg string, hasAlg bool) []Finding {
	var out []Finding
	warn := func(format string, a ...any) {
		out = append(out, Finding{ClassInconsistent, SeverityWarning, fmt.Sprintf(format, a...)})
	}
	d := v.Digest
	if d.DigestSignatureAlgorithm != SignatureAlgorithm {
		warn("digestSignatureAlgorithm is %q, not %s", d.DigestSignatureAlgorithm, SignatureAlgorithm)
	}
	if hasAlg && metaAlg != SignatureAlgorithm {
		warn("signature-algorithm metadata is %q, not %s", metaAlg, SignatureAlgorithm)
	}
	if v.NameErr != nil {
		warn("key is not in CloudTrail's digest layout: %v", v.NameErr)
	} else {
		if v.Name.Account != d.AWSAccountID {
			warn("awsAccountId %s differs from the key's account %s", d.AWSAccountID, v.Name.Account)
		}
		if v.Name.Stamp != CompactTime(v.End) {
			warn("key timestamp %s differs from digestEndTime %s", v.Name.Stamp, d.DigestEndTime)
		}
	}
	set := 0
	for _, p := range []*string{d.PreviousDigestS3Bucket, d.PreviousDigestS3Object, d.PreviousDigestHashValue,
		d.PreviousDigestHashAlgorithm, d.PreviousDigestSignature} {
		if p != nil {
			set++
		}
	}
	if set != 0 && set != 5 {
		warn("%d of the 5 previous* members are null (a starting digest has all null, a linked one none)", 5-set)
	}
	if d.PreviousDigestHashAlgorithm != nil && *d.PreviousDigestHashAlgorithm != "SHA-256" {
		warn("previousDigestHashAlgorithm is %q", *d.PreviousDigestHashAlgorithm)
	}
	listed := make(map[[2]string]bool, len(d.LogFiles))
	for _, lf := range d.LogFiles {
		id := [2]string{lf.S3Bucket, lf.S3Object}
		if listed[id] {
			warn("log file s3://%s/%s is listed twice", lf.S3Bucket, lf.S3Object)
		}
		listed[id] = true
		if lf.S3Bucket != d.DigestS3Bucket {
			warn("log file s3://%s/%s is in another bucket than the digest (%s)", lf.S3Bucket, lf.S3Object, d.DigestS3Bucket)
		}
		if lf.HashAlgorithm != "SHA-256" {
			warn("log file %s: hashAlgorithm %q", lf.S3Object, lf.HashAlgorithm)
		}
		if v.NameErr == nil && !logInChain(lf.S3Object, v.Name.ChainID) {
			warn("log file %s is outside account %s, region %s", lf.S3Object, v.Name.Account, v.Name.SourceRegion)
		}
	}
	return out
}

func logInChain(key string, c ChainID) bool {
	for _, folder := range []string{"/CloudTrail/", "/CloudTrail-Insight/"} {
		if strings.Contains("/"+key, "/"+c.Account+folder+c.SourceRegion+"/") {
			return true
		}
	}
	return false
}

// LinkFindings checks the link from an already verified successor to its predecessor beyond what
// aws-cli checks: the predecessor's hash and signature must be the ones the successor signed over,
// and the predecessor must end where the successor starts.
func LinkFindings(succ, pred *Verified) []Finding {
	var out []Finding
	d := succ.Digest
	if d.PreviousDigestHashValue == nil || !strings.EqualFold(*d.PreviousDigestHashValue, pred.SHA256) {
		got := "null"
		if d.PreviousDigestHashValue != nil {
			got = *d.PreviousDigestHashValue
		}
		out = append(out, Finding{ClassPrevHash, SeverityError, fmt.Sprintf("sha256 is %s but successor s3://%s/%s lists previousDigestHashValue %s",
			pred.SHA256, succ.Bucket, succ.Key, got)})
	}
	if d.PreviousDigestSignature == nil || !strings.EqualFold(*d.PreviousDigestSignature, pred.Signature) {
		out = append(out, Finding{ClassPrevSignature, SeverityError, fmt.Sprintf("signature differs from previousDigestSignature of successor s3://%s/%s",
			succ.Bucket, succ.Key)})
	}
	if succ.NameErr == nil && pred.NameErr == nil && succ.Name.ChainID.String() != pred.Name.ChainID.String() {
		out = append(out, Finding{ClassInconsistent, SeverityWarning, fmt.Sprintf("belongs to another chain (%s) than its successor s3://%s/%s (%s)",
			pred.Name.ChainID, succ.Bucket, succ.Key, succ.Name.ChainID)})
	}
	if !pred.End.Equal(succ.Start) {
		out = append(out, Finding{ClassDiscontinuity, SeverityWarning, fmt.Sprintf("ends %s but successor s3://%s/%s starts %s",
			DisplayTime(pred.End), succ.Bucket, succ.Key, DisplayTime(succ.Start))})
	}
	return out
}

// parseMemberTime parses a digest time member with aws-cli's outcome: a non-string is dateutil's
// TypeError, an unparsable string its "Unable to parse date value".
func parseMemberTime(d *Digest, name, value string) (time.Time, error) {
	if !d.memberIs(name, '"') {
		k := byte('n')
		if d.kinds != nil {
			k = d.kinds[name]
		}
		return time.Time{}, fmt.Errorf("Parser must be a string or character stream, not %s", pyType(k, value))
	}
	t, err := ParseDigestTime(value)
	if err != nil {
		return time.Time{}, fmt.Errorf("Unable to parse date value: %s", value)
	}
	return t, nil
}

// pyType names the Python type json.loads gives a JSON value of kind k.
func pyType(k byte, rendered string) string {
	switch k {
	case 'n':
		return "NoneType"
	case 't', 'f':
		return "bool"
	case '{':
		return "dict"
	case '[':
		return "list"
	}
	if strings.ContainsAny(rendered, ".en") {
		return "float"
	}
	return "int"
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
