package rules

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/logarchive/logarchive/pkg/emf"
	"github.com/logarchive/logarchive/pkg/filter"
	"github.com/logarchive/logarchive/pkg/parse"
)

// MetricSink receives metric samples; *emf.Aggregator is one.
type MetricSink interface {
	Add(d emf.Datum) error
}

// LineageMetricSink is a MetricSink that is told which object each sample came from (AddFor is
// called instead of Add), so that the samples can be published with the object's rows — once they
// are committed — rather than at once.
type LineageMetricSink interface {
	MetricSink
	AddFor(lin Lineage, d emf.Datum) error
}

// Lineage names the object a record came from; the record's Index completes it.
type Lineage struct {
	Bucket string
	Key    string
}

// Finding is one rule match: a plain struct whose fields map one to one onto the sink's findings
// table row (Source* fields onto its lineage).
type Finding struct {
	EventTime       time.Time
	Rule            string
	MetricNamespace string
	MetricName      string
	MetricValue     *float64 // nil when the match published no sample (e.g. non-numeric field)
	Source          string
	Account         string
	Region          string
	EventID         string
	EventJSON       string // a copy of Record.Raw (empty with EngineOptions.OmitEventJSON)
	SourceBucket    string
	SourceKey       string
	SourceIndex     int64
}

// EngineOptions configure an Engine.
type EngineOptions struct {
	// Now stamps samples of records that carry no time (flow logs without a start). Default time.Now.
	Now func() time.Time
	// NoPrefilter turns off the typed-field prefilter, so every applicable pattern scans Raw. The
	// results are the same; it exists to check exactly that.
	NoPrefilter bool
	// OmitEventJSON leaves Finding.EventJSON empty: a finding names its record by lineage (bucket,
	// key, index) and event id, and copying every matched record's text costs (−12 % CloudTrail
	// throughput with the CIS pack on) for a column a join gives back.
	OmitEventJSON bool
}

// cloudTrailFields are the selectors whose values pkg/parse decodes into CloudTrailEvent string
// fields ("" when absent or null).
var cloudTrailFields = []struct {
	selector string
	get      func(*parse.CloudTrailEvent) string
}{
	// (the wildcard selector $.resources[*].ARN is handled by resourceARNs)
	{"$.eventName", func(e *parse.CloudTrailEvent) string { return e.EventName }},
	{"$.eventSource", func(e *parse.CloudTrailEvent) string { return e.EventSource }},
	{"$.eventType", func(e *parse.CloudTrailEvent) string { return e.EventType }},
	{"$.errorCode", func(e *parse.CloudTrailEvent) string { return e.ErrorCode }},
	{"$.errorMessage", func(e *parse.CloudTrailEvent) string { return e.ErrorMessage }},
	{"$.sourceIPAddress", func(e *parse.CloudTrailEvent) string { return e.SourceIPAddress }},
	{"$.awsRegion", func(e *parse.CloudTrailEvent) string { return e.AWSRegion }},
	{"$.userAgent", func(e *parse.CloudTrailEvent) string { return e.UserAgent }},
	{"$.recipientAccountId", func(e *parse.CloudTrailEvent) string { return e.RecipientAccountID }},
	{"$.eventCategory", func(e *parse.CloudTrailEvent) string { return e.EventCategory }},
	{"$.userIdentity.type", identity(func(u *parse.UserIdentity) string { return u.Type })},
	{"$.userIdentity.arn", identity(func(u *parse.UserIdentity) string { return u.ARN })},
	{"$.userIdentity.accountId", identity(func(u *parse.UserIdentity) string { return u.AccountID })},
	{"$.userIdentity.principalId", identity(func(u *parse.UserIdentity) string { return u.PrincipalID })},
	{"$.userIdentity.userName", identity(func(u *parse.UserIdentity) string { return u.UserName })},
	{"$.userIdentity.invokedBy", identity(func(u *parse.UserIdentity) string { return u.InvokedBy })},
	{"$.userIdentity.sessionContext.sessionIssuer.userName", issuer(func(s *parse.SessionIssuer) string { return s.UserName })},
	{"$.userIdentity.sessionContext.sessionIssuer.arn", issuer(func(s *parse.SessionIssuer) string { return s.ARN })},
	{"$.tlsDetails.tlsVersion", func(e *parse.CloudTrailEvent) string {
		if e.TLSDetails == nil {
			return ""
		}
		return e.TLSDetails.TLSVersion
	}},
}

func identity(f func(*parse.UserIdentity) string) func(*parse.CloudTrailEvent) string {
	return func(e *parse.CloudTrailEvent) string {
		if e.UserIdentity == nil {
			return ""
		}
		return f(e.UserIdentity)
	}
}

func issuer(f func(*parse.SessionIssuer) string) func(*parse.CloudTrailEvent) string {
	return func(e *parse.CloudTrailEvent) string {
		if e.UserIdentity == nil || e.UserIdentity.SessionContext == nil || e.UserIdentity.SessionContext.SessionIssuer == nil {
			return ""
		}
		return f(e.UserIdentity.SessionContext.SessionIssuer)
	}
}

// resourceARNs is the typed view of $.resources[*].ARN: a wildcard atom holds when some child does.
func resourceARNs(e *parse.CloudTrailEvent, req *filter.Requirement) bool {
	for _, r := range e.Resources {
		if req.Allows(r.ARN) {
			return true
		}
	}
	return false
}

// lazyEval starts a filter.Eval only when a rule gets past its prefilter, so records that no rule
// can match cost no pool round trip.
type lazyEval struct {
	set *filter.Set
	msg []byte
	ev  *filter.Eval
}

func (l *lazyEval) match(i int) bool {
	if l.ev == nil {
		l.ev = l.set.Begin(l.msg)
	}
	return l.ev.Match(i)
}

func (l *lazyEval) release() {
	if l.ev != nil {
		l.ev.Release()
	}
}

type check struct {
	get func(*parse.CloudTrailEvent) string
	any func(*parse.CloudTrailEvent, *filter.Requirement) bool
	req *filter.Requirement
}

func (c check) allows(e *parse.CloudTrailEvent) bool {
	if c.any != nil {
		return c.any(e, c.req)
	}
	return c.req.Allows(c.get(e))
}

type engineRule struct {
	*Compiled
	checks []check // CloudTrail prefilter: all must allow the typed value
}

// Engine evaluates a rule set on records. It holds no per-record state, so Process may be called
// from several goroutines at once (the MetricSink must then be safe for concurrent use, as
// *emf.Aggregator is).
//
// For CloudTrail records the engine first consults the typed fields pkg/parse decoded: a rule whose
// pattern requires, say, $.eventName to be one of a set of strings is only considered when the
// typed EventName is in that set (an index lookup), and a rule's other requirements (globs,
// regexes, other fields) are checked on typed values before its pattern scans Raw. This is sound as long as parse decodes those string fields exactly
// (the test suite checks prefiltered and unfiltered results agree on the sample corpus), and it
// makes the CIS pack cost a map lookup for most records.
type Engine struct {
	opts    EngineOptions
	metrics MetricSink
	rules   []*engineRule
	set     *filter.Set // all patterns, so a record's JSON is scanned once for every rule
	// gates index CloudTrail rules by a typed field their pattern requires to be one of a set of
	// strings (eventName first): per record, one map lookup per gate field finds the few rules worth
	// evaluating. ctAlways lists the rules without such a field; ctAll every CloudTrail rule.
	gates    []gate
	ctAlways []int
	ctAll    []int
}

type gate struct {
	get func(*parse.CloudTrailEvent) string
	by  map[string][]int // value → rule indices, ascending
}

// NewEngine prepares set for evaluation; samples go to metrics (nil discards them).
func NewEngine(set *Set, metrics MetricSink, opts EngineOptions) *Engine {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := &Engine{opts: opts, metrics: metrics}
	patterns := make([]*filter.Pattern, len(set.Rules))
	for i, c := range set.Rules {
		patterns[i] = c.Pattern
	}
	e.set = filter.NewSet(patterns)
	gateOf := map[string]int{} // selector → index in e.gates
	for i, c := range set.Rules {
		er := &engineRule{Compiled: c}
		e.rules = append(e.rules, er)
		if !c.AppliesTo(parse.SourceCloudTrail) {
			continue
		}
		e.ctAll = append(e.ctAll, i)
		gated := false
		if !opts.NoPrefilter {
			// Rules with a default value publish on every event, so they are never skipped by a
			// gate, only short-cut by their checks. cloudTrailFields lists eventName first, so it
			// is the preferred gate.
			canGate := c.Transform.Definition().DefaultValue == nil
			for _, f := range cloudTrailFields {
				req, ok := c.Pattern.Require(f.selector)
				if !ok {
					continue
				}
				if canGate && !gated && req.ExactOnly() {
					g, ok := gateOf[f.selector]
					if !ok {
						g = len(e.gates)
						gateOf[f.selector] = g
						e.gates = append(e.gates, gate{get: f.get, by: map[string][]int{}})
					}
					for _, v := range req.Exact {
						if l := e.gates[g].by[v]; len(l) == 0 || l[len(l)-1] != i {
							e.gates[g].by[v] = append(l, i)
						}
					}
					gated = true
					continue
				}
				er.checks = append(er.checks, check{get: f.get, req: req})
			}
			if req, ok := c.Pattern.Require("$.resources[*].ARN"); ok {
				er.checks = append(er.checks, check{any: resourceARNs, req: req})
			}
		}
		// Cheap checks first: a set of strings before globs and regexes.
		sort.SliceStable(er.checks, func(a, b int) bool {
			return er.checks[a].req.ExactOnly() && !er.checks[b].req.ExactOnly()
		})
		if !gated {
			e.ctAlways = append(e.ctAlways, i)
		}
	}
	return e
}

// candidates returns, in rule order, the CloudTrail rules worth evaluating on ev.
func (e *Engine) candidates(ev *parse.CloudTrailEvent, buf []int) []int {
	out := append(buf[:0], e.ctAlways...)
	for _, g := range e.gates {
		v := g.get(ev)
		if filter.IsNumberText(v) {
			return e.ctAll // a number's rendering is not its text: no index lookup
		}
		out = append(out, g.by[v]...)
	}
	// Each rule sits in one list only; a few dozen indices at most, so insertion sort.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Process evaluates every rule that applies to rec, sends the samples to the metric sink and
// appends a Finding per match to dst.
func (e *Engine) Process(rec *parse.Record, lin Lineage, dst []Finding) ([]Finding, error) {
	var errs []error
	ev := lazyEval{set: e.set, msg: rec.Raw}
	defer ev.release()
	if rec.Source == parse.SourceCloudTrail && rec.CloudTrail != nil {
		var buf [64]int
		for _, i := range e.candidates(rec.CloudTrail, buf[:]) {
			dst = e.eval(&ev, i, rec, lin, dst, true, &errs)
		}
		// Gated rules not among the candidates cannot match, and they have no default value.
	} else {
		for i, r := range e.rules {
			if r.AppliesTo(rec.Source) {
				dst = e.eval(&ev, i, rec, lin, dst, false, &errs)
			}
		}
	}
	return dst, errors.Join(errs...)
}

func (e *Engine) eval(ev *lazyEval, i int, rec *parse.Record, lin Lineage, dst []Finding, typed bool, errs *[]error) []Finding {
	r := e.rules[i]
	sys := filter.SystemFields{Account: rec.Account(), Region: rec.Region()}
	if !r.Selection.Selects(sys) {
		return dst // not an event this filter looks at
	}
	matched := true
	if typed {
		for _, c := range r.checks {
			if !c.allows(rec.CloudTrail) {
				matched = false
				break
			}
		}
	}
	if matched {
		if typed && !e.opts.NoPrefilter {
			// After the prefilter about one rule per record is left to scan, so the rule's own
			// trie (only its paths) beats the shared one that serves every rule at once.
			matched = r.Pattern.Match(rec.Raw)
		} else {
			matched = ev.match(i)
		}
	}
	if !matched && r.Transform.Definition().DefaultValue == nil {
		return dst // the common case: nothing to publish, nothing to report
	}
	sample, published := r.Transform.Sample(rec.Raw, matched, sys)
	ts := rec.Time()
	if ts.IsZero() {
		ts = e.opts.Now()
	}
	if published && e.metrics != nil {
		d := emf.Datum{
			Time: ts, Namespace: r.Transform.Namespace(), Name: r.Transform.Name(), Unit: r.Transform.Unit(),
			Value: sample.Value,
		}
		for _, dim := range sample.Dimensions {
			d.Dimensions = append(d.Dimensions, emf.Dimension{Name: dim.Name, Value: dim.Value})
		}
		var err error
		if ls, ok := e.metrics.(LineageMetricSink); ok {
			err = ls.AddFor(lin, d)
		} else {
			err = e.metrics.Add(d)
		}
		if err != nil {
			*errs = append(*errs, fmt.Errorf("rule %s: %w", r.Rule.FilterName, err))
		}
	}
	if !matched {
		return dst
	}
	f := Finding{
		EventTime: ts, Rule: r.Rule.FilterName,
		MetricNamespace: r.Transform.Namespace(), MetricName: r.Transform.Name(),
		Source: rec.Source.String(), Account: rec.Account(), Region: rec.Region(),
		SourceBucket: lin.Bucket, SourceKey: lin.Key, SourceIndex: rec.Index,
	}
	if !e.opts.OmitEventJSON {
		f.EventJSON = string(rec.Raw)
	}
	if published {
		v := sample.Value
		f.MetricValue = &v
	}
	if rec.CloudTrail != nil {
		f.EventID = rec.CloudTrail.EventID
	}
	return append(dst, f)
}
