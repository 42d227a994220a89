package pipeline

import (
	"context"
	"time"

	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/digest/validate"
	"github.com/logarchive/logarchive/pkg/sink"
)

// DigestVerifier runs continuous integrity with pkg/digest/validate: each arriving digest's
// signature, its link to its predecessor and the hashes of the log files it lists.
type DigestVerifier struct {
	V   *validate.Validator
	Now func() time.Time // default time.Now
}

// VerifyDigest returns one integrity row per object checked (the digest, its predecessor, each log
// file) and one per chain finding (a broken hash link, a time gap, …).
func (d DigestVerifier) VerifyDigest(ctx context.Context, bucket, key string) ([]sink.IntegrityRow, error) {
	res, err := d.V.VerifyDigestObject(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	at := now().UTC()
	base := sink.IntegrityRow{VerifiedAt: at, DigestBucket: bucket, DigestKey: key, ChainAccount: res.Chain.Account,
		ChainRegion: res.Chain.SourceRegion, ChainTrail: res.Chain.Trail}
	if !res.DigestEnd.IsZero() {
		end := res.DigestEnd
		base.DigestEndTime = &end
	}
	rows := make([]sink.IntegrityRow, 0, len(res.Files)+len(res.Findings))
	for _, f := range res.Files {
		r := base
		r.ObjectBucket, r.ObjectKey = f.Bucket, f.Key
		r.Status = "valid"
		if f.Class != digest.ClassValid {
			r.Status = "invalid"
			r.Class = string(f.Class)
			r.Reason = f.Kind + ": " + f.Reason
		}
		rows = append(rows, r)
	}
	for _, f := range res.Findings {
		r := base
		r.Status = "warning"
		if f.Severity == digest.SeverityError {
			r.Status = "invalid"
		}
		r.Class = string(f.Class)
		r.Reason = f.Message
		rows = append(rows, r)
	}
	return rows, nil
}
