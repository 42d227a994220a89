package synth

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/logarchive/logarchive/pkg/digest"
)

// TamperKind names one way of damaging the archive after CloudTrail wrote it.
type TamperKind string

const (
	// TamperModifyLog changes one record of a log file after its digest hashed it.
	TamperModifyLog TamperKind = "modify-log"
	// TamperDeleteLog removes a log file that a digest lists.
	TamperDeleteLog TamperKind = "delete-log"
	// TamperDeleteDigest removes one interior digest of a chain.
	TamperDeleteDigest TamperKind = "delete-digest"
	// TamperDeleteTwoDigests removes two consecutive digests (aws-cli reports only the first).
	TamperDeleteTwoDigests TamperKind = "delete-two-digests"
	// TamperBreakSignature alters the signature metadata of a digest (one hex digit).
	TamperBreakSignature TamperKind = "break-signature"
	// TamperDropSignature stores a digest without its signature and signature-algorithm metadata.
	TamperDropSignature TamperKind = "drop-signature"
	// TamperMoveDigest copies a digest, bytes and metadata, to another key in the same folder (the
	// original stays): its digestS3Object no longer matches where it is read.
	TamperMoveDigest TamperKind = "move-digest"
	// TamperAppendGzipMember appends a second gzip member with a forged record to a log file.
	TamperAppendGzipMember TamperKind = "append-gzip-member"
	// TamperUnknownKey signs a digest with a key that is not in the published key list (the chain
	// continues from that signature, as a forger's would).
	TamperUnknownKey TamperKind = "unknown-key"
)

// TamperKinds returns every kind, in a stable order.
func TamperKinds() []TamperKind {
	return []TamperKind{TamperModifyLog, TamperDeleteLog, TamperDeleteDigest, TamperDeleteTwoDigests, TamperBreakSignature,
		TamperDropSignature, TamperMoveDigest, TamperAppendGzipMember, TamperUnknownKey}
}

func tamperKindNames() []string {
	var out []string
	for _, k := range TamperKinds() {
		out = append(out, string(k))
	}
	return out
}

func (k TamperKind) valid() bool {
	for _, v := range TamperKinds() {
		if v == k {
			return true
		}
	}
	return false
}

func (k TamperKind) onLog() bool {
	return k == TamperModifyLog || k == TamperDeleteLog || k == TamperAppendGzipMember
}

// ParseTamperList parses a comma-separated list of kinds; "all" means every kind, "" none.
func ParseTamperList(s string) ([]TamperKind, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return nil, nil
	}
	if s == "all" {
		return TamperKinds(), nil
	}
	var out []TamperKind
	for _, f := range strings.Split(s, ",") {
		k := TamperKind(strings.TrimSpace(f))
		if !k.valid() {
			return nil, &OptionsError{Field: "Tamper", Reason: fmt.Sprintf("unknown kind %q (known: all, %s)", k, strings.Join(tamperKindNames(), ", "))}
		}
		out = append(out, k)
	}
	return out, nil
}

// Tampering records one applied tampering.
type Tampering struct {
	Kind    TamperKind `json:"kind"`
	Account string     `json:"account"`
	Region  string     `json:"region"`
	// Key is the object tampered with: the log file, the digest, or for move-digest the copy.
	Key string `json:"key"`
	// OriginalKey is, for move-digest, the key the digest names in digestS3Object.
	OriginalKey string `json:"originalKey,omitempty"`
	// DigestKeys are the digests involved: the digest listing a tampered log, or the deleted ones.
	DigestKeys []string `json:"digestKeys,omitempty"`
	Detail     string   `json:"detail"`

	order int
}

type tamperPlan struct {
	kind  TamperKind
	k     int // digest window
	order int
	done  bool
}

// planTampering assigns each requested tampering its own (chain, digest window): distinct chains
// first, then later windows, never the starting digest (k = 0) and, where the archive is big enough,
// never the newest one, so that every tampering is surrounded by intact digests.
func (g *generator) planTampering() error {
	if len(g.opts.Tamper) == 0 {
		return nil
	}
	r := newRand(g.opts.Seed, "tamper")
	perm := r.Perm(len(g.chains))
	used := map[[2]int]bool{}
	interior := max(1, g.opts.Hours-1)
	for order, kind := range g.opts.Tamper {
		placed := false
		// Deleting two digests prefers to keep the newest one (head truncation is a different, and
		// for aws-cli invisible, case); only when no chain allows it may the pair end at the head.
		for lastOK := g.opts.Hours - 1; lastOK <= g.opts.Hours && !placed; lastOK++ {
			for k := 1; k <= interior && !placed; k++ {
				for _, ci := range perm {
					c := g.chains[ci]
					if used[[2]int{ci, k}] || (kind.onLog() && c.quietK == k) {
						continue
					}
					if kind == TamperDeleteTwoDigests && (k+1 > lastOK || used[[2]int{ci, k + 1}]) {
						continue
					}
					used[[2]int{ci, k}] = true
					if kind == TamperDeleteTwoDigests {
						used[[2]int{ci, k + 1}] = true
					}
					c.tampers = append(c.tampers, &tamperPlan{kind: kind, k: k, order: order})
					placed = true
					break
				}
			}
		}
		if !placed {
			return &OptionsError{Field: "Tamper", Reason: fmt.Sprintf("no chain and hour left for %s (tampering #%d); add accounts, regions or hours", kind, order+1)}
		}
	}
	return nil
}

// digestTamper returns the plan that concerns digest k, if any.
func (c *chain) digestTamper(k int) *tamperPlan {
	for _, p := range c.tampers {
		if p.kind.onLog() {
			continue
		}
		if p.k == k || (p.kind == TamperDeleteTwoDigests && p.k+1 == k) {
			return p
		}
	}
	return nil
}

func (c *chain) record(p *tamperPlan, t Tampering) {
	t.Kind, t.Account, t.Region, t.order = p.kind, c.acct.ID, c.region, p.order
	c.tampered = append(c.tampered, t)
}

// tamperLog applies a planned log tampering to the first eligible file of its digest window. It
// returns the body to store and whether to store nothing.
func (c *chain) tamperLog(lf logFile, inflated, body []byte, hasPlanted bool) ([]byte, bool, error) {
	if hasPlanted {
		return body, false, nil // scenario events must stay findable
	}
	k := c.digestIndex(lf.delivered)
	for _, p := range c.tampers {
		if !p.kind.onLog() || p.done || p.k != k {
			continue
		}
		p.done = true
		dk := []string{c.digestKey(c.digestEnd(k))}
		switch p.kind {
		case TamperDeleteLog:
			c.record(p, Tampering{Key: lf.key, DigestKeys: dk, Detail: "log file listed in the digest was deleted"})
			return nil, true, nil
		case TamperModifyLog:
			modified, detail, err := modifyRecord(inflated)
			if err != nil {
				return nil, false, fmt.Errorf("tamper %s: %w", lf.key, err)
			}
			nb, err := c.gzip(modified)
			if err != nil {
				return nil, false, err
			}
			c.record(p, Tampering{Key: lf.key, DigestKeys: dk, Detail: detail})
			return nb, false, nil
		case TamperAppendGzipMember:
			t := lf.newest
			forged := c.newRecord(t, c.pickActor(t, false), "cloudtrail.amazonaws.com", "StopLogging", false)
			forged.RequestParameters = obj("name", "arn:aws:cloudtrail:"+c.g.opts.HomeRegion+":"+c.acct.ID+":trail/"+c.g.opts.TrailName)
			extra, err := marshalRecords([]*ctRecord{forged})
			if err != nil {
				return nil, false, err
			}
			member, err := c.gzip(extra)
			if err != nil {
				return nil, false, err
			}
			c.record(p, Tampering{Key: lf.key, DigestKeys: dk, Detail: fmt.Sprintf("second gzip member of %d bytes appended, holding a forged StopLogging record %s", len(member), forged.EventID)})
			return append(body, member...), false, nil
		}
	}
	return body, false, nil
}

// modifyRecord rewrites the first record's sourceIPAddress, keeping the JSON valid.
func modifyRecord(inflated []byte) ([]byte, string, error) {
	const field = `"sourceIPAddress":"`
	i := bytes.Index(inflated, []byte(field))
	if i < 0 {
		return nil, "", fmt.Errorf("no sourceIPAddress to modify")
	}
	start := i + len(field)
	n := bytes.IndexByte(inflated[start:], '"')
	if n < 0 {
		return nil, "", fmt.Errorf("unterminated sourceIPAddress")
	}
	old := string(inflated[start : start+n])
	repl := "203.0.113.250"
	if old == repl {
		repl = "203.0.113.251"
	}
	out := make([]byte, 0, len(inflated)+len(repl))
	out = append(out, inflated[:start]...)
	out = append(out, repl...)
	out = append(out, inflated[start+n:]...)
	return out, fmt.Sprintf("first record's sourceIPAddress changed from %s to %s", old, repl), nil
}

// applyDigestTamper returns the key, body and metadata to store for digest k; an empty key stores
// nothing.
func (c *chain) applyDigestTamper(ctx context.Context, p *tamperPlan, k int, d *digest.Digest, body []byte, meta map[string]string) (string, []byte, map[string]string, error) {
	key := d.DigestS3Object
	switch p.kind {
	case TamperDeleteDigest:
		c.record(p, Tampering{Key: key, DigestKeys: []string{key}, Detail: "digest deleted"})
		return "", nil, nil, nil
	case TamperDeleteTwoDigests:
		if k == p.k {
			next := c.digestKey(c.digestEnd(k + 1))
			c.record(p, Tampering{Key: key, DigestKeys: []string{key, next}, Detail: "two consecutive digests deleted"})
		}
		return "", nil, nil, nil
	case TamperBreakSignature:
		m := maps.Clone(meta)
		sig := []byte(m[digest.MetaSignature])
		if sig[0] == '0' {
			sig[0] = '1'
		} else {
			sig[0] = '0'
		}
		m[digest.MetaSignature] = string(sig)
		c.record(p, Tampering{Key: key, DigestKeys: []string{key}, Detail: "first hex digit of the signature metadata changed"})
		return key, body, m, nil
	case TamperDropSignature:
		c.record(p, Tampering{Key: key, DigestKeys: []string{key}, Detail: "signature and signature-algorithm metadata removed"})
		return key, body, nil, nil
	case TamperMoveDigest:
		end, err := time.Parse(ctTime, d.DigestEndTime)
		if err != nil {
			return "", nil, nil, fmt.Errorf("tamper %s: %w", key, err)
		}
		copyKey := c.digestKey(end.Add(30 * time.Minute))
		if err := c.put(ctx, TableDigest, copyKey, body, meta, 0); err != nil {
			return "", nil, nil, err
		}
		c.record(p, Tampering{Key: copyKey, OriginalKey: key, DigestKeys: []string{key}, Detail: "digest copied (bytes and metadata) to a key 30 minutes later in the same folder"})
		return key, body, meta, nil
	case TamperUnknownKey:
		c.record(p, Tampering{Key: key, DigestKeys: []string{key}, Detail: "signed with unpublished key " + d.DigestPublicKeyFingerprint})
		return key, body, meta, nil
	}
	return key, body, meta, nil
}
