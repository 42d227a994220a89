// Package validate checks CloudTrail digest chains over a store.Store (S3 or a local mirror): the
// traversal of `aws cloudtrail validate-logs` (newest to oldest, standard then backfill pass, same
// messages and counters), plus what aws-cli lacks — whole-bucket discovery of every chain, bounded
// parallel fetching and hashing, stronger chain checks, gap accounting, per-file access errors and
// offline validation with signatures inherited along the chain.
//
// It promises never to hold a log file in memory (logs are streamed through gunzip and SHA-256) and
// to bound concurrency: at most Options.LogWorkers log files and Options.Prefetch digests per chain are
// in flight.
package validate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/store"
)

// Options configure a Validator. Store, Keys and Start are required.
type Options struct {
	Store store.Store
	Keys  digest.KeySource
	// Start and End bound the validated range (End defaults to Now).
	Start, End time.Time
	// LogWorkers bounds log files fetched and hashed at once, across chains. Default
	// max(32, 4×GOMAXPROCS): fetching from S3 is mostly waiting, and hashing is bounded by the CPUs anyway.
	LogWorkers int
	// Prefetch bounds digests fetched ahead of the traversal, per chain. Default 8.
	Prefetch int
	// ChainWorkers bounds chains validated at once. Default 4.
	ChainWorkers int
	// Offline lets a digest without signature metadata use the signature its verified successor
	// names (previousDigestSignature): local mirrors keep metadata only for the newest digest.
	Offline bool
	// ExpectRecent, when > 0, reports a chain whose newest verified digest ends earlier than
	// min(End, Now) − ExpectRecent (head truncation: the newest digests were deleted).
	ExpectRecent time.Duration
	// StrictKeyWindow makes a signature outside its key's validity an error instead of a warning.
	StrictKeyWindow bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives debug and progress information (default slog.Default()).
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultPrefetch     = 8
	DefaultChainWorkers = 4
)

func (o *Options) defaults() error {
	if o.Store == nil || o.Keys == nil {
		return errors.New("validate: Options.Store and Options.Keys are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.End.IsZero() {
		o.End = o.Now().UTC().Truncate(time.Second)
	}
	if o.Start.After(o.End) {
		return errors.New("Invalid time range specified: start-time must occur before end-time")
	}
	if err := digest.CheckUserRange(o.Start, o.End); err != nil {
		return err
	}
	if o.LogWorkers <= 0 {
		o.LogWorkers = max(32, 4*runtime.GOMAXPROCS(0))
	}
	if o.Prefetch <= 0 {
		o.Prefetch = DefaultPrefetch
	}
	if o.ChainWorkers <= 0 {
		o.ChainWorkers = DefaultChainWorkers
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// Progress counts work done so far; read it with Validator.Progress.
type Progress struct {
	Chains, Digests, Logs int64
	LogBytes              int64
}

// Validator validates chains. Safe for concurrent use.
type Validator struct {
	opts    Options
	ring    *digest.KeyRing
	checker *digest.Checker
	logSem  chan struct{}
	hasher  digest.Hasher

	chains, digests, logs, logBytes atomic.Int64
}

// New returns a Validator.
func New(opts Options) (*Validator, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	ring := digest.NewKeyRing(opts.Keys)
	return &Validator{opts: opts, ring: ring, checker: &digest.Checker{Keys: ring, StrictKeyWindow: opts.StrictKeyWindow,
		Large: make(chan struct{}, 1)}, logSem: make(chan struct{}, opts.LogWorkers)}, nil
}

// Options returns the effective options (with defaults).
func (v *Validator) Options() Options { return v.opts }

// Progress returns the work done so far.
func (v *Validator) Progress() Progress {
	return Progress{Chains: v.chains.Load(), Digests: v.digests.Load(), Logs: v.logs.Load(), LogBytes: v.logBytes.Load()}
}

// FatalError is a condition that stops a chain's validation as a whole (aws-cli aborts on it).
type FatalError struct{ Msg string }

func (e *FatalError) Error() string { return e.Msg }

// listed is one digest key of a listing.
type listed struct {
	key  string
	date string // YYYYMMDDTHHMMSSZ from the key, as aws-cli extracts it
}

// keyDate extracts a digest key's date by position, as aws-cli does (key[-24:-8], backfill key[-33:-17]).
func keyDate(key string) (string, bool) {
	var s string
	if digest.IsBackfillKey(key) {
		if len(key) < 33 {
			return "", false
		}
		s = key[len(key)-33 : len(key)-17]
	} else {
		if len(key) < 24 {
			return "", false
		}
		s = key[len(key)-24 : len(key)-8]
	}
	if _, err := time.Parse("20060102T150405Z", s); err != nil {
		return "", false
	}
	return s, true
}

func parseStamp(s string) time.Time {
	t, _ := time.Parse("20060102T150405Z", s)
	return t
}

// listChain lists the chain's digest keys whose key date lies in [start, end+1h], ascending, split into
// standard and backfill keys (aws-cli's load_digest_keys_in_range).
func (v *Validator) listChain(ctx context.Context, id digest.ChainID, bucket string, start, end time.Time) (std, bf []listed, err error) {
	prefix := id.RegionPrefix()
	lo, hi := digest.CompactTime(start), digest.CompactTime(end.Add(time.Hour))
	marker := prefix + "/" + start.Add(-time.Minute).UTC().Format("2006/01/02") + "/"
	hiFolder := prefix + "/" + end.Add(time.Hour).UTC().Format("2006/01/02") + "/~"
	errStop := errors.New("stop")
	err = v.opts.Store.List(ctx, bucket, prefix+"/", marker, func(in store.Info) error {
		if in.Key > hiFolder {
			return errStop
		}
		kn, err := digest.ParseKey(in.Key)
		if err != nil || kn.Account != id.Account || kn.SourceRegion != id.SourceRegion || kn.Trail != id.Trail ||
			kn.HomeRegion != id.HomeRegion || kn.OrgID != id.OrgID || kn.Prefix != id.Prefix {
			return nil
		}
		d, ok := keyDate(in.Key)
		if !ok || d < lo || d > hi {
			return nil
		}
		if kn.Backfill {
			bf = append(bf, listed{in.Key, d})
		} else {
			std = append(std, listed{in.Key, d})
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, nil, fmt.Errorf("list digests of %s: %w", id, err)
	}
	byDate := func(s []listed) {
		sort.SliceStable(s, func(i, j int) bool { return s[i].date < s[j].date })
	}
	byDate(std)
	byDate(bf)
	return std, bf, nil
}

// ValidateChain validates one chain. A *FatalError (e.g. no public keys) is returned in
// ChainResult.Fatal, not as an error; the error is for cancellation and listing failures.
func (v *Validator) ValidateChain(ctx context.Context, id digest.ChainID) (*ChainResult, error) {
	res := &ChainResult{Chain: id, Requested: Interval{v.opts.Start, v.opts.End}, Covered: []Interval{}, Gaps: []Gap{}, Events: []Event{}}
	defer v.chains.Add(1)
	std, bf, err := v.listChain(ctx, id, id.Bucket, v.opts.Start, v.opts.End)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	t := &traversal{v: v, id: id, res: res, wg: &wg}
	err = t.pass(ctx, std, false)
	if err == nil {
		err = t.pass(ctx, bf, true)
	}
	wg.Wait()
	var fe *FatalError
	if errors.As(err, &fe) {
		res.Fatal = fe.Msg
	} else if err != nil {
		return nil, err
	}
	finish(res, v.opts)
	v.opts.Logger.Debug("chain validated", "chain", id.String(), "valid_digests", res.Counts.ValidDigests,
		"invalid_digests", res.Counts.InvalidDigests, "valid_logs", res.Counts.ValidLogs, "invalid_logs", res.Counts.InvalidLogs,
		"gaps", len(res.Gaps), "fatal", res.Fatal)
	return res, nil
}

type traversal struct {
	v   *Validator
	id  digest.ChainID
	res *ChainResult
	wg  *sync.WaitGroup
}

// pass is aws-cli's _traverse_digest_chain over one listing.
func (t *traversal) pass(ctx context.Context, keys []listed, backfill bool) error {
	v := t.v
	start, end := v.opts.Start, v.opts.End
	if !backfill {
		// aws-cli loads keys for [start, end+2h] before traversing and aborts when there are none.
		n, err := v.ring.Load(ctx, t.id.SourceRegion, start, end.Add(2*time.Hour))
		if err != nil {
			return &FatalError{Msg: err.Error()}
		}
		if n == 0 {
			return &FatalError{Msg: fmt.Sprintf("No public keys found between %s and %s", digest.DisplayTime(start), digest.DisplayTime(end.Add(2*time.Hour)))}
		}
	}
	if len(keys) == 0 {
		return nil
	}
	bucket := t.id.Bucket
	initial := keys
	visited := map[string]bool{}
	seen := map[string]bool{} // bucket/key fetched in this pass
	results := map[string]*DigestResult{}
	pf := newPrefetcher(ctx, v, v.opts.Prefetch)
	defer pf.close()
	pos := len(keys) // keys[:pos] are still listed (aws-cli pops from the end)
	// Links usually point at the next older listed key, so fetching ahead along the listing from
	// wherever the traversal is keeps the window full while it follows links.
	index := func(keys []listed) map[string]int {
		m := make(map[string]int, len(keys))
		for i, l := range keys {
			m[l.key] = i
		}
		return m
	}
	at := index(keys)
	pop := func() (listed, bool) {
		if pos == 0 {
			return listed{}, false
		}
		pos--
		pf.ahead(bucket, keys[:pos])
		return keys[pos], true
	}
	// popOlder pops listed keys until one is dated strictly before key's date (_get_last_digest).
	popOlder := func(key string) (listed, bool) {
		d, ok := keyDate(key)
		if !ok {
			return listed{}, false
		}
		for {
			l, ok := pop()
			if !ok {
				return listed{}, false
			}
			if l.date < d {
				return l, true
			}
		}
	}
	cur, _ := pop()
	key := cur.key
	lastStart := parseStamp(cur.date)
	var succ *digest.Verified
	for key != "" && !start.After(lastStart) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if seen[bucket+"/"+key] {
			// Only a chain that links back to itself gets here; aws-cli would loop forever. The digest
			// was counted when first validated: it turns INVALID, it is not counted twice.
			const msg = "digest chain links back to a digest already validated"
			if dr := results[bucket+"/"+key]; dr != nil && !dr.Failed() {
				t.add(dr, -1)
				dr.Findings = append(dr.Findings, digest.Finding{Class: digest.ClassInconsistent, Severity: digest.SeverityError, Message: msg})
				dr.Reason = msg
				t.count(dr)
			}
			l, ok := popOlder(key)
			key, succ = "", nil
			if ok {
				key = l.key
			}
			continue
		}
		seen[bucket+"/"+key] = true
		v.digests.Add(1)
		if bucket == t.id.Bucket {
			visited[key] = true
		}
		dr := &DigestResult{Bucket: bucket, Key: key, Backfill: backfill}
		results[bucket+"/"+key] = dr
		next := func() {
			l, ok := popOlder(key)
			key = ""
			if ok {
				key = l.key
			}
			succ = nil
		}
		if i, ok := at[key]; ok {
			pf.ahead(bucket, keys[:i])
		}
		obj, release, err := pf.get(ctx, bucket, key)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			ce := classifyReadErr(err)
			dr.Class, dr.Reason, dr.Detail = ce.Class, ce.Msg, errText(ce.Err)
			t.count(dr)
			t.res.Events = append(t.res.Events, Event{Digest: dr, Backfill: backfill})
			next()
			continue
		}
		inherited := ""
		if v.opts.Offline && succ != nil && succ.Digest.PreviousDigestSignature != nil {
			inherited = *succ.Digest.PreviousDigestSignature
		}
		ver, ce := v.checker.Check(ctx, obj, t.id.SourceRegion, inherited)
		release()
		obj = digest.Object{}
		if ce != nil {
			dr.Class, dr.Reason, dr.Detail = ce.Class, ce.Msg, joinDetail(ce.Detail, errText(ce.Err))
			t.count(dr)
			t.res.Events = append(t.res.Events, Event{Digest: dr, Backfill: backfill})
			next()
			continue
		}
		if succ != nil {
			ver.Findings = append(ver.Findings, digest.LinkFindings(succ, ver)...)
		}
		d := ver.Digest
		s, e := ver.Start, ver.End
		dr.Bucket, dr.Key = d.DigestS3Bucket, d.DigestS3Object
		dr.Class, dr.Start, dr.End, dr.SignatureFrom, dr.Findings = digest.ClassValid, &s, &e, ver.SignatureFrom, ver.Findings
		dr.authentic, dr.chainStart = true, d.PreviousDigestS3Bucket == nil || d.PreviousDigestS3Object == nil
		if d.PreviousDigestS3Object != nil {
			dr.prevKey = *d.PreviousDigestS3Object
		}
		for _, f := range dr.Findings {
			if f.Severity == digest.SeverityError {
				dr.Reason = f.Message
				break
			}
		}
		t.count(dr)
		t.trackFound(s, e)
		t.res.Events = append(t.res.Events, Event{Digest: dr, Backfill: backfill})
		t.checkLogs(ctx, dr, d.LogFiles)
		lastStart = s
		if dr.chainStart {
			next()
			if key != "" {
				nd, _ := keyDate(key)
				t.res.Events = append(t.res.Events, Event{Restart: &Interval{parseStamp(nd), lastStart}, Backfill: backfill})
			}
			continue
		}
		key = *d.PreviousDigestS3Object
		succ = ver
		if pb := *d.PreviousDigestS3Bucket; pb != bucket {
			bucket = pb
			ns, nb, err := v.listChain(ctx, t.id, bucket, start, e)
			if err != nil {
				return err
			}
			keys = ns
			if backfill {
				keys = nb
			}
			pos = len(keys)
			at = index(keys)
			pf.reset()
		}
	}
	if bucket != t.id.Bucket {
		pf.reset()
	}
	return t.strays(ctx, pf, initial, visited, backfill)
}

// strays checks listed digests the traversal never reached. aws-cli ignores them; a copy of a digest
// placed beside an intact chain (or a second chain's digest) would otherwise go unnoticed. An authentic
// stray is reported with a warning, a failing one as INVALID.
func (t *traversal) strays(ctx context.Context, pf *prefetcher, listing []listed, visited map[string]bool, backfill bool) error {
	for i := len(listing) - 1; i >= 0; i-- {
		key := listing[i].key
		if visited[key] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		dr := &DigestResult{Bucket: t.id.Bucket, Key: key, Backfill: backfill, stray: true}
		obj, release, err := pf.get(ctx, t.id.Bucket, key) // often prefetched already
		var ver *digest.Verified
		var ce *digest.CheckError
		if err == nil {
			ver, ce = t.v.checker.Check(ctx, obj, t.id.SourceRegion, "")
			release()
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if store.IsNotFound(err) {
				continue // deleted since the listing
			}
			ce := classifyReadErr(err)
			dr.Class, dr.Reason, dr.Detail = ce.Class, ce.Msg, joinDetail(ce.Detail, errText(ce.Err))
		} else if ce != nil {
			dr.Class, dr.Reason, dr.Detail = ce.Class, ce.Msg, joinDetail(ce.Detail, errText(ce.Err))
		} else {
			s, e := ver.Start, ver.End
			dr.Class, dr.Start, dr.End, dr.SignatureFrom = digest.ClassValid, &s, &e, ver.SignatureFrom
			dr.Findings = append(ver.Findings, digest.Finding{Class: digest.ClassInconsistent, Severity: digest.SeverityWarning,
				Message: "authentic digest not reached by following the chain"})
		}
		dr.Detail = joinDetail("not reached by the chain", dr.Detail)
		t.count(dr)
		t.res.Events = append(t.res.Events, Event{Digest: dr, Backfill: backfill})
	}
	return nil
}

func (t *traversal) trackFound(s, e time.Time) {
	o := t.v.opts
	if s.Before(o.Start) {
		s = o.Start
	}
	if e.After(o.End) {
		e = o.End
	}
	if t.res.Found == nil {
		t.res.Found = &Interval{s, e}
		return
	}
	if s.Before(t.res.Found.From) {
		t.res.Found.From = s
	}
	if e.After(t.res.Found.To) {
		t.res.Found.To = e
	}
}

func (t *traversal) count(dr *DigestResult) { t.add(dr, 1) }

// add counts dr n times (n = -1 takes a count back, before a result changes).
func (t *traversal) add(dr *DigestResult, n int) {
	c := &t.res.Counts
	switch {
	case dr.Class.Unreadable():
		c.UnreadableDigests += n
	case dr.Failed() && dr.Backfill:
		c.InvalidBackfillDigests += n
	case dr.Failed():
		c.InvalidDigests += n
	case dr.Backfill:
		c.ValidBackfillDigests += n
	default:
		c.ValidDigests += n
	}
	for _, f := range dr.Findings {
		if f.Severity == digest.SeverityWarning {
			c.Warnings += n
		}
	}
}

// checkLogs hashes a digest's log files on the shared worker pool; results land in dr.Logs in digest
// order. Counting happens in finish, after all workers are done.
func (t *traversal) checkLogs(ctx context.Context, dr *DigestResult, files []digest.LogFile) {
	dr.Logs = make([]digest.LogResult, len(files))
	for i, lf := range files {
		select {
		case t.v.logSem <- struct{}{}:
		case <-ctx.Done():
			dr.Logs[i] = digest.LogResult{Bucket: lf.S3Bucket, Key: lf.S3Object, Class: digest.ClassReadError, Reason: "cancelled"}
			continue
		}
		t.wg.Add(1)
		go func() {
			defer func() { <-t.v.logSem; t.wg.Done() }()
			r := CheckLog(ctx, t.v.opts.Store, &t.v.hasher, lf)
			t.v.logs.Add(1)
			t.v.logBytes.Add(r.Bytes)
			dr.Logs[i] = r
		}()
	}
}

// CheckLog fetches one log file listed by a digest and compares its hash, streaming.
// h may be nil (a throwaway hasher is used).
func CheckLog(ctx context.Context, st store.Store, h *digest.Hasher, lf digest.LogFile) digest.LogResult {
	if h == nil {
		h = new(digest.Hasher)
	}
	res := digest.LogResult{Bucket: lf.S3Bucket, Key: lf.S3Object}
	if lf.Invalid != "" {
		res.Class, res.Reason, res.Detail = digest.ClassInvalidFormat, "invalid format", lf.Invalid
		return res
	}
	body, _, err := st.Get(ctx, lf.S3Bucket, lf.S3Object)
	if err != nil {
		ce := classifyStoreErr(err)
		res.Class, res.Reason, res.Detail = ce.Class, ce.Msg, errText(ce.Err)
		return res
	}
	defer body.Close()
	sum, n, inflated, err := h.Hash(body)
	res.Bytes, res.Inflated = n, inflated
	if err != nil {
		var ce *digest.CheckError
		if !errors.As(err, &ce) {
			ce = classifyStoreErr(err)
		}
		res.Class, res.Reason, res.Detail = ce.Class, ce.Msg, joinDetail(ce.Detail, errText(ce.Err))
		return res
	}
	if sum != lf.HashValue {
		res.Class, res.Reason = digest.ClassHashMismatch, "hash value doesn't match"
		res.Detail = fmt.Sprintf("sha256 %s, digest lists %s", sum, lf.HashValue)
		return res
	}
	res.Class = digest.ClassValid
	return res
}

// classifyStoreErr maps a store error to a result class; NoSuchKey is aws-cli's "not found".
func classifyStoreErr(err error) *digest.CheckError {
	switch store.KindOf(err) {
	case store.KindNotFound:
		return &digest.CheckError{Class: digest.ClassNotFound, Msg: "not found", Err: err}
	case store.KindAccessDenied:
		return &digest.CheckError{Class: digest.ClassAccessDenied, Msg: "access denied", Err: err}
	case store.KindKMS:
		return &digest.CheckError{Class: digest.ClassKMS, Msg: "KMS key not usable", Err: err}
	case store.KindArchived:
		return &digest.CheckError{Class: digest.ClassArchived, Msg: "archived object needs a restore", Err: err}
	}
	return &digest.CheckError{Class: digest.ClassReadError, Msg: "read error", Err: err}
}

func errText(err error) string {
	if err == nil || store.IsNotFound(err) {
		// "not found" says it all; the store's text would only add a local path or request id.
		return ""
	}
	return err.Error()
}

func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ": " + b
}

// finish counts log results and computes coverage and gaps (standard pass only: backfill digests
// form their own, sparse chain).
func finish(res *ChainResult, o Options) {
	var std []*DigestResult
	for _, ev := range res.Events {
		d := ev.Digest
		if d == nil {
			continue
		}
		for _, l := range d.Logs {
			res.Counts.LogBytes += l.Bytes
			switch {
			case l.Class == digest.ClassValid:
				res.Counts.ValidLogs++
			case l.Class.Unreadable():
				res.Counts.UnreadableLogs++
			default:
				res.Counts.InvalidLogs++
			}
		}
		if !ev.Backfill && !d.stray {
			std = append(std, d)
		}
	}
	res.Covered = covered(std, o.Start, o.End)
	res.Gaps = gaps(std, o)
	for _, g := range res.Gaps {
		if g.Failure {
			res.Counts.FailedGaps++
		}
	}
}

func covered(std []*DigestResult, start, end time.Time) []Interval {
	var iv []Interval
	for _, d := range std {
		if d.authentic {
			f, t := *d.Start, *d.End
			if f.Before(start) {
				f = start
			}
			if t.After(end) {
				t = end
			}
			if t.After(f) {
				iv = append(iv, Interval{f, t})
			}
		}
	}
	sort.Slice(iv, func(i, j int) bool { return iv[i].From.Before(iv[j].From) })
	out := []Interval{}
	for _, x := range iv {
		if n := len(out); n > 0 && !x.From.After(out[n-1].To) {
			if x.To.After(out[n-1].To) {
				out[n-1].To = x.To
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

// gaps walks the standard results newest to oldest and names every uncovered stretch between authentic
// digests after the reason found there.
func gaps(std []*DigestResult, o Options) []Gap {
	out := []Gap{}
	reason := func(between []*DigestResult, newer *DigestResult, dur time.Duration) (string, int) {
		missing, invalid, unreadable := 0, 0, 0
		for _, d := range between {
			switch {
			case d.Class == digest.ClassNotFound:
				missing++
			case d.Class.Unreadable():
				unreadable++
			default:
				invalid++
			}
		}
		switch {
		case newer != nil && newer.chainStart && len(between) == 0:
			return GapChainRestart, 0
		case missing > 0:
			return GapMissingDigests, max(missing, int(math.Round(dur.Hours())))
		case invalid > 0:
			return GapInvalidDigest, 0
		case unreadable > 0:
			return GapUnreadable, 0
		case newer != nil && newer.chainStart:
			return GapChainRestart, 0
		}
		return GapDiscontinuity, 0
	}
	add := func(from, to time.Time, between []*DigestResult, newer *DigestResult) {
		if !to.After(from) {
			return
		}
		r, n := reason(between, newer, to.Sub(from))
		g := Gap{Interval: Interval{from, to}, Reason: r, Missing: n, Failure: r != GapChainRestart}
		if newer != nil {
			g.After = newer.Key
		}
		out = append(out, g)
	}
	var newer *DigestResult
	var between []*DigestResult
	for _, d := range std {
		if !d.authentic {
			between = append(between, d)
			continue
		}
		if newer == nil {
			if len(between) > 0 {
				add(*d.End, newestKeyDate(between, o.End), between, nil)
			}
		} else {
			add(*d.End, *newer.Start, between, newer)
		}
		newer, between = d, nil
	}
	switch {
	case newer == nil && len(between) > 0:
		add(oldestKeyStart(between, o.Start), newestKeyDate(between, o.End), between, nil)
	case newer != nil && len(between) > 0:
		add(oldestKeyStart(between, o.Start), *newer.Start, between, newer)
	}
	if o.ExpectRecent > 0 {
		head := o.End
		if now := o.Now(); now.Before(head) {
			head = now
		}
		var newest time.Time
		for _, d := range std {
			if d.authentic && d.End.After(newest) {
				newest = *d.End
			}
		}
		if limit := head.Add(-o.ExpectRecent); newest.Before(limit) {
			from := newest
			if from.IsZero() || from.Before(o.Start) {
				from = o.Start
			}
			out = append(out, Gap{Interval: Interval{from, head}, Reason: GapNoRecentDigest, Failure: true})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].From.After(out[j].From) })
	return out
}

// newestKeyDate is the latest end time named by the keys of unverified digests (a digest key carries
// its end time), or def.
func newestKeyDate(ds []*DigestResult, def time.Time) time.Time {
	var t time.Time
	for _, d := range ds {
		if s, ok := keyDate(d.Key); ok && parseStamp(s).After(t) {
			t = parseStamp(s)
		}
	}
	if t.IsZero() || t.After(def) {
		return def
	}
	return t
}

// oldestKeyStart estimates where the oldest unverified digest starts: an hour before the end its key
// names (CloudTrail's cadence), but not before floor.
func oldestKeyStart(ds []*DigestResult, floor time.Time) time.Time {
	var t time.Time
	for _, d := range ds {
		if s, ok := keyDate(d.Key); ok && (t.IsZero() || parseStamp(s).Before(t)) {
			t = parseStamp(s)
		}
	}
	if t.IsZero() || t.Add(-time.Hour).Before(floor) {
		return floor
	}
	return t.Add(-time.Hour)
}

// prefetcher fetches digests ahead of the traversal, which usually follows links to the next
// listed key; fetched objects are dropped once consumed, so memory stays bounded by the window.
type prefetcher struct {
	ctx    context.Context
	cancel context.CancelFunc
	v      *Validator
	st     store.Store
	window int
	sem    chan struct{}
	mu     sync.Mutex
	m      map[string]*fetch
	// used holds keys already handed out by get, so fetching ahead never reads them a second time.
	used map[string]bool
	// wg tracks fetch goroutines so close can wait for them: none may outlive the validation that
	// started it (they would still be reading the store after the caller moved on).
	wg sync.WaitGroup
}

type fetch struct {
	done chan struct{}
	obj  digest.Object
	err  error
}

func newPrefetcher(ctx context.Context, v *Validator, window int) *prefetcher {
	ctx, cancel := context.WithCancel(ctx)
	return &prefetcher{ctx: ctx, cancel: cancel, v: v, st: v.opts.Store, window: window, sem: make(chan struct{}, window), m: map[string]*fetch{}, used: map[string]bool{}}
}

func (p *prefetcher) close() {
	p.cancel()
	p.wg.Wait()
}

func (p *prefetcher) reset() {
	p.mu.Lock()
	p.m = map[string]*fetch{}
	p.used = map[string]bool{}
	p.mu.Unlock()
}

// ahead starts fetching the newest window keys of remaining.
func (p *prefetcher) ahead(bucket string, remaining []listed) {
	if p.window <= 1 {
		return
	}
	for i := len(remaining) - 1; i >= 0 && i >= len(remaining)-p.window; i-- {
		p.mu.Lock()
		used := p.used[bucket+"/"+remaining[i].key]
		p.mu.Unlock()
		if !used {
			p.start(bucket, remaining[i].key)
		}
	}
}

func (p *prefetcher) start(bucket, key string) *fetch {
	id := bucket + "/" + key
	p.mu.Lock()
	f, ok := p.m[id]
	if !ok {
		f = &fetch{done: make(chan struct{})}
		p.m[id] = f
	}
	p.mu.Unlock()
	if ok {
		return f
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(f.done)
		select {
		case p.sem <- struct{}{}:
			defer func() { <-p.sem }()
		case <-p.ctx.Done():
			f.err = p.ctx.Err()
			return
		}
		f.obj, f.err = readObject(p.ctx, p.st, bucket, key, prefetchLimit)
	}()
	return f
}

// get returns a digest object; release must be called once it has been checked (it frees the
// Large slot a large object is read under).
func (p *prefetcher) get(ctx context.Context, bucket, key string) (digest.Object, func(), error) {
	f := p.start(bucket, key)
	select {
	case <-f.done:
	case <-ctx.Done():
		return digest.Object{}, func() {}, ctx.Err()
	}
	p.mu.Lock()
	delete(p.m, bucket+"/"+key)
	p.used[bucket+"/"+key] = true
	p.mu.Unlock()
	if errors.Is(f.err, errBig) {
		return p.v.readLarge(ctx, bucket, key)
	}
	return f.obj, func() {}, f.err
}

// prefetchLimit is the largest digest object fetched ahead and held: real digests are tens of KB
// compressed; a larger object is read only when the traversal reaches it, under the Large slot.
const prefetchLimit = 256 << 10

// errBig marks an object over the limit readObject was given.
var errBig = errors.New("digest object over the prefetch limit")

// readObject reads a whole digest object of at most limit bytes; a larger one yields errBig (or,
// at digest.MaxDigestObject, an invalid-format CheckError) without being read.
func readObject(ctx context.Context, st store.Store, bucket, key string, limit int64) (digest.Object, error) {
	body, info, err := st.Get(ctx, bucket, key)
	if err != nil {
		return digest.Object{}, err
	}
	defer body.Close()
	tooBig := func(n int64) error {
		if limit >= digest.MaxDigestObject {
			return &digest.CheckError{Class: digest.ClassInvalidFormat, Msg: "invalid format",
				Detail: fmt.Sprintf("digest object is %d bytes or more, over %d", n, digest.MaxDigestObject)}
		}
		return errBig
	}
	if info.Size > limit {
		return digest.Object{}, tooBig(info.Size)
	}
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return digest.Object{}, &store.Error{Op: "get", Bucket: bucket, Key: key, Kind: store.KindOf(err), Err: err}
	}
	if int64(len(b)) > limit {
		return digest.Object{}, tooBig(int64(len(b)))
	}
	return digest.Object{Bucket: bucket, Key: key, Body: b, Metadata: info.Metadata, MetadataErr: errString(info.MetadataErr)}, nil
}

// readDigest reads a digest object for checking. A large one is read under the checker's Large
// slot, which stays held until release is called (after the check), so at most one large digest
// object is in memory whatever the number of chains.
func (v *Validator) readDigest(ctx context.Context, bucket, key string) (obj digest.Object, release func(), err error) {
	obj, err = readObject(ctx, v.opts.Store, bucket, key, prefetchLimit)
	if !errors.Is(err, errBig) {
		return obj, func() {}, err
	}
	return v.readLarge(ctx, bucket, key)
}

func (v *Validator) readLarge(ctx context.Context, bucket, key string) (digest.Object, func(), error) {
	select {
	case v.checker.Large <- struct{}{}:
	case <-ctx.Done():
		return digest.Object{}, func() {}, ctx.Err()
	}
	body, info, err := v.opts.Store.Get(ctx, bucket, key)
	if err != nil {
		<-v.checker.Large
		return digest.Object{}, func() {}, err
	}
	release := func() { body.Close(); <-v.checker.Large }
	if info.Size > digest.MaxDigestObject {
		release()
		return digest.Object{}, func() {}, &digest.CheckError{Class: digest.ClassInvalidFormat, Msg: "invalid format",
			Detail: fmt.Sprintf("digest object is %d bytes, over %d", info.Size, digest.MaxDigestObject)}
	}
	// Streamed, never held: Check inflates straight from the store.
	return digest.Object{Bucket: bucket, Key: key, Reader: body, Metadata: info.Metadata, MetadataErr: errString(info.MetadataErr),
		HoldsLarge: true}, release, nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// classifyReadErr is classifyStoreErr for readObject's errors, which may already be a CheckError.
func classifyReadErr(err error) *digest.CheckError {
	var ce *digest.CheckError
	if errors.As(err, &ce) {
		return ce
	}
	return classifyStoreErr(err)
}
