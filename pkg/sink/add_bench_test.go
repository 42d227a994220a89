package sink

import (
	"context"
	"testing"
	"time"

	"github.com/logarchive/logarchive/internal/cputime"
	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

// BenchmarkAdd is the per-record path before the writer, as pkg/pipeline runs it: gzipped objects
// decoded by one Decoders with ReuseRecords, every record converted and staged by Input.Add, each
// input ended (its rows join the shared buffers) and nothing encoded until Close, which is not timed. The gap to its decode-only case is what
// conversion and staging cost per row.
func BenchmarkAdd(b *testing.B) {
	opts := synth.DefaultOptions(11)
	opts.EventsPerHour = 2000
	opts.FlowRecordsPerHour = 1
	opts.ResolverQueriesPerHour = 2000
	m, arch := generate(b, opts)
	sets := map[Table]objectSet{}
	for _, o := range arch.sortedObjects(m.Bucket) {
		var t Table
		switch parse.Classify(m.Bucket, o.key).Source {
		case parse.SourceCloudTrail:
			t = TableCloudTrail
		case parse.SourceResolver:
			t = TableResolver
		default:
			continue
		}
		st := sets[t]
		st.bucket = m.Bucket
		st.objs = append(st.objs, o)
		sets[t] = st
	}
	for _, table := range []Table{TableCloudTrail, TableResolver} {
		st := sets[table]
		run := func(b *testing.B, add bool) {
			ctx := context.Background()
			ds := &parse.Decoders{ReuseRecords: true}
			b.ReportAllocs()
			var n int
			m0 := mallocs()
			cpu0 := cputime.Process()
			for i := 0; i < b.N; i++ {
				// Nothing reaches a size or age that makes the sink encode before Close.
				s, err := New(Options{Dest: store.Location{Store: discardStore{}}, StageBytes: 1 << 40, SpillBytes: 1 << 40,
					TargetFileBytes: 1 << 40, MemoryBudget: 1 << 40, MaxAge: time.Hour})
				if err != nil {
					b.Fatal(err)
				}
				n = feedObjects(b, ctx, s, ds, st, add)
				b.StopTimer()
				m1, c1 := mallocs(), cputime.Process()
				if err := s.Close(ctx); err != nil {
					b.Fatal(err)
				}
				// Close's own allocations and CPU time are not the path's.
				m0 += mallocs() - m1
				cpu0 += cputime.Process() - c1
				b.StartTimer()
			}
			perRow(b, n, m0)
			if cpu := cputime.Process() - cpu0; cpu > 0 {
				// CPU time (GC included) is the steadier measure on a shared machine.
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(n)/float64(b.N), "cpu-ns/row")
			}
		}
		b.Run(string(table)+"/decode", func(b *testing.B) { run(b, false) })
		b.Run(string(table)+"/decode+add", func(b *testing.B) { run(b, true) })
	}
}
