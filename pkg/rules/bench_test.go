package rules

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/emf"
	"github.com/logarchive/logarchive/pkg/parse"
)

// parseAll decodes every sample file with pkg/parse into recs (Raw copied, as a sink that keeps
// records would).
func parseAll(b *testing.B, files []sampleFile, recs []parse.Record) []parse.Record {
	recs = recs[:0]
	for _, f := range files {
		dec, err := parse.NewDecoder(parse.Classify("archive", f.key), bytes.NewReader(f.body), parse.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			recs = append(recs, parse.Record{})
			rec := &recs[len(recs)-1]
			if err := dec.Next(rec); err != nil {
				recs = recs[:len(recs)-1]
				if errors.Is(err, io.EOF) {
					break
				}
				b.Fatal(err)
			}
			rec.Raw = append([]byte(nil), rec.Raw...)
		}
	}
	return recs
}

// BenchmarkEngine measures the CIS pack plus fifteen custom rules (30 rules) over the 2,900 real
// CloudTrail records against pkg/parse decoding the same records, in the same run: "parse" is the
// baseline, "rules" reports its cost as a percentage of it (target ≤ 15 %), and "rules-no-prefilter"
// shows what scanning every record for every rule (one shared pass per record) costs.
func BenchmarkEngine(b *testing.B) {
	files := sampleFiles(b)
	var size int64
	for _, f := range files {
		size += int64(len(f.body))
	}
	set, err := Compile(append(CIS(""), customRules()...), Options{})
	if err != nil {
		b.Fatal(err)
	}
	if len(set.Rules) != 30 {
		b.Fatalf("%d rules, want 30", len(set.Rules))
	}
	var parseNsPerEvent float64
	var recs []parse.Record
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			recs = parseAll(b, files, recs)
		}
		b.SetBytes(size)
		parseNsPerEvent = float64(b.Elapsed().Nanoseconds()) / float64(b.N*len(recs))
		b.ReportMetric(parseNsPerEvent, "ns/event")
	})
	if len(recs) == 0 {
		recs = parseAll(b, files, recs)
	}
	for _, mode := range []struct {
		name string
		opts EngineOptions
	}{{"rules", EngineOptions{}}, {"rules-no-prefilter", EngineOptions{NoPrefilter: true}}} {
		b.Run(mode.name, func(b *testing.B) {
			agg := emf.New(io.Discard, emf.Options{MaxAge: -1, MaxFuture: -1})
			e := NewEngine(set, agg, mode.opts)
			var findings []Finding
			b.ReportAllocs()
			for b.Loop() {
				for i := range recs {
					findings, _ = e.Process(&recs[i], Lineage{Bucket: "archive"}, findings[:0])
				}
				_ = agg.Flush()
			}
			b.SetBytes(size)
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*len(recs))
			b.ReportMetric(ns, "ns/event")
			b.ReportMetric(1e9/ns, "events/s")
			if parseNsPerEvent > 0 {
				b.ReportMetric(100*ns/parseNsPerEvent, "%-of-parse")
			}
		})
	}
}

// BenchmarkRulesVsParse measures the rules as the pipeline runs them: each record is evaluated
// right after pkg/parse decodes it, while it is still in cache. Every iteration times, on the
// thread's CPU clock (robust on a shared, noisy host), a parse-only pass and a parse+rules pass over
// the 2,900 records; the rules' cost is the difference. Garbage is collected outside the timings.
func BenchmarkRulesVsParse(b *testing.B) {
	files := sampleFiles(b)
	set, err := Compile(append(CIS(""), customRules()...), Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []struct {
		name string
		opts EngineOptions
	}{{"prefilter", EngineOptions{}}, {"no-prefilter", EngineOptions{NoPrefilter: true}}} {
		b.Run(mode.name, func(b *testing.B) {
			e := NewEngine(set, emf.New(io.Discard, emf.Options{MaxAge: -1, MaxFuture: -1}), mode.opts)
			var findings []Finding
			pass := func(withRules bool) (time.Duration, int) {
				b.StopTimer()
				runtime.GC()
				b.StartTimer()
				n := 0
				start := threadCPUTime()
				var rec parse.Record
				for _, f := range files {
					dec, err := parse.NewDecoder(parse.Classify("archive", f.key), bytes.NewReader(f.body), parse.Options{})
					if err != nil {
						b.Fatal(err)
					}
					for {
						if err := dec.Next(&rec); err != nil {
							if errors.Is(err, io.EOF) {
								break
							}
							b.Fatal(err)
						}
						n++
						if withRules {
							findings, _ = e.Process(&rec, Lineage{Bucket: "archive", Key: f.key}, findings[:0])
						}
					}
				}
				return threadCPUTime() - start, n
			}
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var parseTime, bothTime time.Duration
			events := 0
			for b.Loop() {
				p, n := pass(false)
				t, _ := pass(true)
				parseTime += p
				bothTime += t
				events += n
			}
			rules := bothTime - parseTime
			b.ReportMetric(float64(parseTime.Nanoseconds())/float64(events), "parse-cpu-ns/event")
			b.ReportMetric(float64(rules.Nanoseconds())/float64(events), "rules-cpu-ns/event")
			b.ReportMetric(100*rules.Seconds()/parseTime.Seconds(), "rules-%-of-parse")
		})
	}
}
