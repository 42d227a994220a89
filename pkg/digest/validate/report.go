package validate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"sync"
	"time"

	"github.com/logarchive/logarchive/pkg/digest"
)

// ReportVersion is the version of the JSON report schema (docs/validate.md).
const ReportVersion = 1

// Report is the machine-readable result of a run: per chain, per digest and per log file, with classes.
type Report struct {
	Version     int            `json:"version"`
	GeneratedAt time.Time      `json:"generated_at"`
	Requested   Interval       `json:"requested"`
	ExitCode    int            `json:"exit_code"`
	Totals      Counts         `json:"totals"`
	Chains      []ReportChain  `json:"chains"`
	ExitCodes   map[int]string `json:"exit_codes"`
}

// ReportChain is one chain of a Report.
type ReportChain struct {
	Chain    digest.ChainID  `json:"chain"`
	Found    *Interval       `json:"found,omitempty"`
	Counts   Counts          `json:"counts"`
	Covered  []Interval      `json:"covered"`
	Gaps     []Gap           `json:"gaps"`
	Restarts []Interval      `json:"restarts"`
	Digests  []*DigestResult `json:"digests"`
	Fatal    string          `json:"fatal,omitempty"`
	Status   string          `json:"status"` // ok, invalid, unreadable, incomplete, fatal
}

// NewReport builds the report of a run.
func NewReport(results []*ChainResult, requested Interval, strict bool, now time.Time) *Report {
	r := &Report{Version: ReportVersion, GeneratedAt: now.UTC(), Requested: requested, ExitCode: ExitCode(results, strict),
		Chains: []ReportChain{}, ExitCodes: map[int]string{
			ExitOK: "ok", ExitInvalid: "invalid or missing digest or log file", ExitIncomplete: "coverage incomplete",
			ExitUnreadable: "unreadable files", ExitFatal: "fatal error"}}
	for _, c := range results {
		r.Totals.add(c.Counts)
		rc := ReportChain{Chain: c.Chain, Found: c.Found, Counts: c.Counts, Covered: c.Covered, Gaps: c.Gaps,
			Restarts: []Interval{}, Digests: []*DigestResult{}, Fatal: c.Fatal}
		for _, ev := range c.Events {
			switch {
			case ev.Digest != nil:
				rc.Digests = append(rc.Digests, ev.Digest)
			case ev.Restart != nil:
				rc.Restarts = append(rc.Restarts, *ev.Restart)
			}
		}
		rc.Status = statusName(ExitCode([]*ChainResult{c}, strict))
		r.Chains = append(r.Chains, rc)
	}
	return r
}

func statusName(code int) string {
	switch code {
	case ExitOK:
		return "ok"
	case ExitInvalid:
		return "invalid"
	case ExitUnreadable:
		return "unreadable"
	case ExitIncomplete:
		return "incomplete"
	}
	return "fatal"
}

// WriteJSON writes the report as JSON, one digest per line, streaming: each digest (with its log
// files) is encoded on its own, so no encoding of the whole report is ever held in memory.
func (r *Report) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	put := func(s string) {
		if err == nil {
			_, err = bw.WriteString(s)
		}
	}
	val := func(v any) {
		if err != nil {
			return
		}
		var b []byte
		if b, err = json.Marshal(v); err == nil {
			_, err = bw.Write(b)
		}
	}
	field := func(name string, v any) { put(`"` + name + `":`); val(v); put(",") }
	put("{")
	field("version", r.Version)
	field("generated_at", r.GeneratedAt)
	field("requested", r.Requested)
	field("exit_code", r.ExitCode)
	field("totals", r.Totals)
	field("exit_codes", r.ExitCodes)
	put("\n\"chains\":[")
	for i, c := range r.Chains {
		if i > 0 {
			put(",")
		}
		put("\n{")
		field("chain", c.Chain)
		if c.Found != nil {
			field("found", c.Found)
		}
		field("counts", c.Counts)
		field("covered", c.Covered)
		field("gaps", c.Gaps)
		field("restarts", c.Restarts)
		if c.Fatal != "" {
			field("fatal", c.Fatal)
		}
		field("status", c.Status)
		put(`"digests":[`)
		for j, d := range c.Digests {
			if j > 0 {
				put(",")
			}
			put("\n")
			val(d)
		}
		put("]}")
	}
	put("]}\n")
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

// WriteHTML writes a self-contained page (inline CSS and SVG, no external assets): per chain a
// coverage timeline over the requested range — covered intervals, gaps by reason, failed digests —
// then the failures.
func (r *Report) WriteHTML(w io.Writer) error {
	if err := htmlTmpl().Execute(w, r.view()); err != nil {
		return fmt.Errorf("write HTML report: %w", err)
	}
	return nil
}

type htmlView struct {
	*Report
	Rows []htmlChain
}

type htmlBar struct {
	X, W  float64
	Class string
	Title string
}

type htmlChain struct {
	ReportChain
	Bars     []htmlBar
	Marks    []htmlBar
	Failures []htmlFailure
}

type htmlFailure struct {
	Kind, Location, Class, Reason string
}

const timelineWidth = 1000.0

func (r *Report) view() htmlView {
	v := htmlView{Report: r}
	span := r.Requested.To.Sub(r.Requested.From).Seconds()
	if span <= 0 {
		span = 1
	}
	x := func(t time.Time) float64 {
		f := t.Sub(r.Requested.From).Seconds() / span * timelineWidth
		return min(max(f, 0), timelineWidth)
	}
	bar := func(iv Interval, class, title string) htmlBar {
		x0, x1 := x(iv.From), x(iv.To)
		return htmlBar{X: x0, W: max(x1-x0, 2), Class: class, Title: title}
	}
	for _, c := range r.Chains {
		hc := htmlChain{ReportChain: c}
		for _, iv := range c.Covered {
			hc.Bars = append(hc.Bars, bar(iv, "covered", "covered "+digest.DisplayTime(iv.From)+" – "+digest.DisplayTime(iv.To)))
		}
		for _, g := range c.Gaps {
			cls := "gap"
			if !g.Failure {
				cls = "restart"
			}
			t := fmt.Sprintf("%s %s – %s", g.Reason, digest.DisplayTime(g.From), digest.DisplayTime(g.To))
			if g.Missing > 0 {
				t += fmt.Sprintf(" (about %d digests missing)", g.Missing)
			}
			hc.Bars = append(hc.Bars, bar(g.Interval, cls, t))
		}
		for _, d := range c.Digests {
			bad := d.Failed() || d.Class.Unreadable()
			var badLogs []digest.LogResult
			for _, l := range d.Logs {
				if l.Class != digest.ClassValid {
					badLogs = append(badLogs, l)
				}
			}
			if bad {
				reason := d.Reason
				if reason == "" {
					reason = string(d.Class)
				}
				hc.Failures = append(hc.Failures, htmlFailure{"digest", "s3://" + d.Bucket + "/" + d.Key, string(d.Class), joinDetail(reason, d.Detail)})
			}
			for _, l := range badLogs {
				hc.Failures = append(hc.Failures, htmlFailure{"log", "s3://" + l.Bucket + "/" + l.Key, string(l.Class), joinDetail(l.Reason, l.Detail)})
			}
			if (bad || len(badLogs) > 0) && d.End != nil {
				hc.Marks = append(hc.Marks, htmlBar{X: x(*d.End), Class: "fail", Title: "failure at " + d.Key})
			} else if bad {
				if s, ok := keyDate(d.Key); ok {
					hc.Marks = append(hc.Marks, htmlBar{X: x(parseStamp(s)), Class: "fail", Title: string(d.Class) + ": " + d.Key})
				}
			}
		}
		v.Rows = append(v.Rows, hc)
	}
	return v
}

// htmlTmpl is parsed at its first use, not at package init: every run of the ingest binary, which
// links this package for digest verification, paid ~0.25 ms for a template only reports use.
var htmlTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"t":    func(t time.Time) string { return digest.DisplayTime(t) },
		"add3": func(a, b, c int) int { return a + b + c },
	}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>CloudTrail log file integrity report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:15px;margin:24px 0 4px}
.ok{color:#17803d}.invalid,.fatal{color:#b91c1c}.unreadable,.incomplete{color:#b45309}
table{border-collapse:collapse;margin:6px 0 12px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;font-size:13px}
svg{display:block;border:1px solid #ccc;background:#f6f6f6}
rect.covered{fill:#4ade80}rect.gap{fill:#ef4444}rect.restart{fill:#9ca3af}line.fail{stroke:#7f1d1d;stroke-width:3}
.legend span{display:inline-block;padding:1px 8px;margin-right:8px;font-size:12px}
code{font-size:12px}
</style></head><body>
<h1>CloudTrail log file integrity report</h1>
<p>Requested {{t .Requested.From}} to {{t .Requested.To}} · generated {{t .GeneratedAt}} · exit code {{.ExitCode}} ·
{{len .Chains}} chains · digests {{.Totals.ValidDigests}} valid, {{.Totals.InvalidDigests}} invalid, {{.Totals.UnreadableDigests}} unreadable ·
logs {{.Totals.ValidLogs}} valid, {{.Totals.InvalidLogs}} invalid, {{.Totals.UnreadableLogs}} unreadable</p>
<p class="legend"><span style="background:#4ade80">covered</span><span style="background:#ef4444;color:#fff">gap (failure)</span><span style="background:#9ca3af">chain restart</span><span style="border-left:3px solid #7f1d1d">failed file</span></p>
{{range .Rows}}<section class="chain" data-account="{{.Chain.Account}}" data-region="{{.Chain.SourceRegion}}" data-status="{{.Status}}">
<h2>{{if .Chain.OrgID}}{{.Chain.OrgID}} / {{end}}{{.Chain.Account}} · {{.Chain.SourceRegion}} · trail {{.Chain.Trail}} (home {{.Chain.HomeRegion}}) · <span class="{{.Status}}">{{.Status}}</span></h2>
<div>s3://{{.Chain.Bucket}}/{{.Chain.Prefix}} · digests {{.Counts.ValidDigests}}/{{add3 .Counts.ValidDigests .Counts.InvalidDigests .Counts.UnreadableDigests}} valid · logs {{.Counts.ValidLogs}}/{{add3 .Counts.ValidLogs .Counts.InvalidLogs .Counts.UnreadableLogs}} valid{{if .Found}} · found {{t .Found.From}} to {{t .Found.To}}{{end}}</div>
{{if .Fatal}}<p class="fatal">{{.Fatal}}</p>{{end}}
<svg viewBox="0 0 1000 28" width="1000" height="28" role="img" aria-label="coverage timeline">{{range .Bars}}<rect class="{{.Class}}" x="{{printf "%.1f" .X}}" y="4" width="{{printf "%.1f" .W}}" height="20"><title>{{.Title}}</title></rect>{{end}}{{range .Marks}}<line class="{{.Class}}" x1="{{printf "%.1f" .X}}" x2="{{printf "%.1f" .X}}" y1="0" y2="28"><title>{{.Title}}</title></line>{{end}}</svg>
{{if .Gaps}}<table class="gaps"><tr><th>gap from</th><th>to</th><th>reason</th><th>missing digests (est.)</th></tr>{{range .Gaps}}<tr class="{{if .Failure}}invalid{{end}}"><td>{{t .From}}</td><td>{{t .To}}</td><td>{{.Reason}}</td><td>{{if .Missing}}{{.Missing}}{{end}}</td></tr>{{end}}</table>{{end}}
{{if .Failures}}<table class="failures"><tr><th>file</th><th>location</th><th>class</th><th>reason</th></tr>{{range .Failures}}<tr><td>{{.Kind}}</td><td><code>{{.Location}}</code></td><td class="invalid">{{.Class}}</td><td>{{.Reason}}</td></tr>{{end}}</table>{{end}}
</section>
{{end}}</body></html>
`))
})
