package validate

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/logarchive/logarchive/pkg/digest"
)

// File kinds of an IntegrityResult.
const (
	FileDigest         = "digest"
	FilePreviousDigest = "previous_digest"
	FileLog            = "log"
)

// IntegrityFile is one object checked for a newly delivered digest.
type IntegrityFile struct {
	Kind   string       `json:"kind"`
	Bucket string       `json:"bucket"`
	Key    string       `json:"key"`
	Class  digest.Class `json:"class"`
	Reason string       `json:"reason,omitempty"`
}

// IntegrityResult is the outcome of VerifyDigestObject: one entry for the digest, one for its
// predecessor (the chain link) unless it starts a chain, one per listed log file, and the link and
// consistency findings.
type IntegrityResult struct {
	Chain     digest.ChainID   `json:"chain"`
	Bucket    string           `json:"bucket"`
	Key       string           `json:"key"`
	DigestEnd time.Time        `json:"digest_end,omitzero"`
	Files     []IntegrityFile  `json:"files"`
	Findings  []digest.Finding `json:"findings,omitempty"`
	// Valid is true when every file is valid and no finding is an error.
	Valid bool `json:"valid"`
}

// VerifyDigestObject is the continuous-integrity check the ingest worker runs when a digest object
// arrives: it verifies the digest's signature, its link to the predecessor (fetched; hash, signature
// and time continuity compared) and the hashes of the log files it lists (in parallel on the
// Validator's log workers). It fails only for a key outside CloudTrail's digest layout or
// cancellation; every other problem is a classified entry of the result.
func (v *Validator) VerifyDigestObject(ctx context.Context, bucket, key string) (*IntegrityResult, error) {
	kn, err := digest.ParseKey(key)
	if err != nil {
		return nil, fmt.Errorf("verify digest s3://%s/%s: %w", bucket, key, err)
	}
	id := kn.ChainID
	id.Bucket = bucket
	res := &IntegrityResult{Chain: id, Bucket: bucket, Key: key}
	entry := func(kind, b, k string, ce *digest.CheckError) {
		f := IntegrityFile{Kind: kind, Bucket: b, Key: k, Class: digest.ClassValid}
		if ce != nil {
			f.Class, f.Reason = ce.Class, joinDetail(ce.Msg, joinDetail(ce.Detail, errText(ce.Err)))
		}
		res.Files = append(res.Files, f)
	}
	obj, release, err := v.readDigest(ctx, bucket, key)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		entry(FileDigest, bucket, key, classifyReadErr(err))
		return res, nil
	}
	ver, ce := v.checker.Check(ctx, obj, id.SourceRegion, "")
	release()
	entry(FileDigest, bucket, key, ce)
	if ce != nil {
		return res, nil
	}
	res.DigestEnd = ver.End
	res.Findings = append(res.Findings, ver.Findings...)
	d := ver.Digest
	if d.PreviousDigestS3Bucket != nil && d.PreviousDigestS3Object != nil {
		pb, pk := *d.PreviousDigestS3Bucket, *d.PreviousDigestS3Object
		pobj, prelease, err := v.readDigest(ctx, pb, pk)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			entry(FilePreviousDigest, pb, pk, classifyReadErr(err))
		default:
			inherited := ""
			if v.opts.Offline && d.PreviousDigestSignature != nil {
				inherited = *d.PreviousDigestSignature
			}
			pver, ce := v.checker.Check(ctx, pobj, id.SourceRegion, inherited)
			prelease()
			if ce == nil {
				for _, f := range digest.LinkFindings(ver, pver) {
					res.Findings = append(res.Findings, f)
					if f.Severity == digest.SeverityError && ce == nil {
						ce = &digest.CheckError{Class: f.Class, Msg: f.Message}
					}
				}
			}
			entry(FilePreviousDigest, pb, pk, ce)
		}
	}
	logs := make([]digest.LogResult, len(d.LogFiles))
	var wg sync.WaitGroup
	for i, lf := range d.LogFiles {
		select {
		case v.logSem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-v.logSem; wg.Done() }()
			logs[i] = CheckLog(ctx, v.opts.Store, &v.hasher, lf)
		}()
	}
	wg.Wait()
	for _, l := range logs {
		res.Files = append(res.Files, IntegrityFile{Kind: FileLog, Bucket: l.Bucket, Key: l.Key, Class: l.Class,
			Reason: joinDetail(l.Reason, l.Detail)})
	}
	res.Valid = true
	for _, f := range res.Files {
		res.Valid = res.Valid && f.Class == digest.ClassValid
	}
	for _, f := range res.Findings {
		res.Valid = res.Valid && f.Severity != digest.SeverityError
	}
	return res, nil
}
