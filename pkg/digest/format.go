// Package digest reads, writes and verifies CloudTrail digest files: the signed, hourly, chained
// documents that prove CloudTrail log files were not modified, deleted or forged.
//
// Hashes are always taken over the exact inflated bytes of an object, never over re-serialised JSON;
// the string to sign is built from JSON-decoded values (see StringToSign).
package digest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Digest is one digest file's content. Nullable members are pointers so that JSON null, which the
// string to sign renders as "null", stays distinct from "".
type Digest struct {
	AWSAccountID                string    `json:"awsAccountId"`
	DigestStartTime             string    `json:"digestStartTime"`
	DigestEndTime               string    `json:"digestEndTime"`
	DigestS3Bucket              string    `json:"digestS3Bucket"`
	DigestS3Object              string    `json:"digestS3Object"`
	DigestPublicKeyFingerprint  string    `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm    string    `json:"digestSignatureAlgorithm"`
	NewestEventTime             *string   `json:"newestEventTime"`
	OldestEventTime             *string   `json:"oldestEventTime"`
	PreviousDigestS3Bucket      *string   `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object      *string   `json:"previousDigestS3Object"`
	PreviousDigestHashValue     *string   `json:"previousDigestHashValue"`
	PreviousDigestHashAlgorithm *string   `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature     *string   `json:"previousDigestSignature"`
	LogFiles                    []LogFile `json:"logFiles"`

	// kinds records, for each member Decode found, the kind of JSON value it held (see kindOf):
	// aws-cli's checks depend on it where the Go fields cannot tell ("5" from 5).
	kinds map[string]byte
	// logFilesErr is set when logFiles is neither a false value nor a list of objects.
	logFilesErr error
}

// memberIs reports whether Decode found member name holding a JSON value of kind k ('"' string);
// digests built in Go (not decoded) hold strings wherever their fields are set.
func (d *Digest) memberIs(name string, k byte) bool {
	if d.kinds == nil {
		return k == '"'
	}
	return d.kinds[name] == k
}

// LogFile is one entry of a digest's logFiles array.
type LogFile struct {
	S3Bucket        string `json:"s3Bucket"`
	S3Object        string `json:"s3Object"`
	HashValue       string `json:"hashValue"`
	HashAlgorithm   string `json:"hashAlgorithm"`
	NewestEventTime string `json:"newestEventTime"`
	OldestEventTime string `json:"oldestEventTime"`

	// Invalid, when set, says why the entry cannot be checked (s3Bucket or s3Object not a string, no
	// hashValue): aws-cli reports such a log file as "invalid format".
	Invalid string `json:"-"`
}

// IsStart reports whether d starts a chain (all previous* members null).
func (d *Digest) IsStart() bool {
	return d.PreviousDigestS3Bucket == nil && d.PreviousDigestS3Object == nil &&
		d.PreviousDigestHashValue == nil && d.PreviousDigestHashAlgorithm == nil &&
		d.PreviousDigestSignature == nil
}

// Marshal serialises d the way CloudTrail does: compact, members in CloudTrail's order, and "/"
// escaped as "\/" (CloudTrail's Java serialiser does so; hashes of real digests depend on it).
func Marshal(d *Digest) ([]byte, error) {
	if d.LogFiles == nil {
		// CloudTrail writes an empty digest as "logFiles":[], never null.
		cp := *d
		cp.LogFiles = []LogFile{}
		d = &cp
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("marshal digest: %w", err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	// "/" only ever occurs inside JSON strings, so a plain replacement is exact.
	return bytes.ReplaceAll(out, []byte("/"), []byte(`\/`)), nil
}

// StringToSign builds the byte-exact message CloudTrail signs for a digest:
//
//	digestEndTime \n digestS3Bucket/digestS3Object \n hex(sha256(inflated)) \n previousDigestSignature
//
// with the literal text "null" when previousDigestSignature is JSON null and no trailing newline.
// Bucket and object come from the JSON, never from where the file was read.
func StringToSign(d *Digest, inflated []byte) []byte {
	sum := sha256.Sum256(inflated)
	return stringToSign(d, hex.EncodeToString(sum[:]))
}

func stringToSign(d *Digest, sumHex string) []byte {
	prev := "null"
	if d.PreviousDigestSignature != nil {
		prev = *d.PreviousDigestSignature
	}
	var b bytes.Buffer
	b.Grow(len(d.DigestEndTime) + len(d.DigestS3Bucket) + len(d.DigestS3Object) + 64 + len(prev) + 4)
	b.WriteString(d.DigestEndTime)
	b.WriteByte('\n')
	b.WriteString(d.DigestS3Bucket)
	b.WriteByte('/')
	b.WriteString(d.DigestS3Object)
	b.WriteByte('\n')
	b.WriteString(sumHex)
	b.WriteByte('\n')
	b.WriteString(prev)
	return b.Bytes()
}

// S3 user-metadata keys (lower case, as aws-sdk-go-v2 returns them) that carry a digest's signature.
const (
	MetaSignature          = "signature"
	MetaSignatureAlgorithm = "signature-algorithm"
	MetaBackfillTimestamp  = "backfill-generation-timestamp"
)

// SignatureAlgorithm is the only algorithm CloudTrail uses.
const SignatureAlgorithm = "SHA256withRSA"

// MetadataSidecarSuffix names the file that holds an object's S3 user metadata when a bucket is
// mirrored to local disk (<key> beside <key>.s3meta.json, a JSON object of lower-case metadata keys to
// values). Downloads lose S3 metadata, so offline validation needs it for at least the newest digest
// of each chain.
const MetadataSidecarSuffix = ".s3meta.json"
