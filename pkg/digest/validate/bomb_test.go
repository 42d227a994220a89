package validate

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/digest"
	"github.com/logarchive/logarchive/pkg/store"
)

var (
	bombOnce sync.Once
	bombBody []byte
)

// bomb returns a 10 MB digest object that inflates to 64 MB of well-formed logFiles entries (the
// costliest kind of bomb: every byte decodes into something held), padded after its gzip member.
func bomb() []byte {
	bombOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		zw.Write([]byte(`{"digestS3Bucket":"b","logFiles":[`))
		entry := []byte(`{"s3Bucket":"b","s3Object":"AWSLogs/123456789012/CloudTrail/us-east-1/2014/08/10/123456789012_CloudTrail_us-east-1_20140810T0000Z_abcdefghijklmnop.json.gz","hashValue":"` +
			strings.Repeat("ab", 32) + `","hashAlgorithm":"SHA-256","newestEventTime":"2014-08-10T00:00:00Z","oldestEventTime":"2014-08-10T00:00:00Z"},`)
		for n := 0; n < 64<<20; n += len(entry) {
			zw.Write(entry)
		}
		zw.Close()
		bombBody = append(buf.Bytes(), make([]byte, 10<<20-buf.Len())...)
	})
	return bombBody
}

// putBombs writes n chains of perChain bomb digests each (keys of consecutive hours) into st.
func putBombs(t testing.TB, st store.Store, chains, perChain int) []digest.ChainID {
	var ids []digest.ChainID
	for c := 0; c < chains; c++ {
		id := digest.ChainID{Bucket: "1", Account: fmt.Sprintf("1234567890%02d", c), SourceRegion: "us-east-1", Trail: "foo", HomeRegion: "us-east-1"}
		for i := 0; i < perChain; i++ {
			if err := st.Put(context.Background(), "1", id.Key(fxStart.Add(time.Duration(i+1)*time.Hour)), bomb(), nil); err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, id)
	}
	return ids
}

// A gzip-bomb digest is refused as invalid format (inflation stops at digest.MaxDigestSize), so the
// run reports it instead of crashing or holding it.
func TestBombDigestRefused(t *testing.T) {
	f := newFx(t)
	ids := putBombs(t, f.st, 2, 1)
	v, err := New(Options{Store: f.st, Keys: f.keys, Start: fxStart, End: fxStart.Add(24 * time.Hour), ChainWorkers: 2})
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.ValidateAll(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Counts.InvalidDigests != 1 || ExitCode([]*ChainResult{r}, false) != ExitInvalid {
			t.Fatalf("chain %s: %+v", r.Chain, r.Counts)
		}
		for _, ev := range r.Events {
			if d := ev.Digest; d != nil && (d.Class != digest.ClassInvalidFormat || !strings.Contains(d.Detail, "exceeds")) {
				t.Fatalf("bomb digest: %s %q %q", d.Class, d.Reason, d.Detail)
			}
		}
	}
}

// BenchmarkBombDigests measures the peak RSS of validating 24 bomb digests over 8 chains at several
// --chain-workers (issue 16's case). It resets the kernel's peak (clear_refs) before each run and
// reports VmHWM in MB; docs/validate.md records the figures.
func BenchmarkBombDigests(b *testing.B) {
	st := store.NewLocal(b.TempDir())
	ids := putBombs(b, st, 8, 3)
	f := newFx(b)
	bombBody = nil // the objects are on disk now
	// The validate command runs with this soft memory limit (cmd/validate: DefaultMemoryLimit).
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(48 << 20))
	for _, workers := range []int{1, 4, 8} {
		b.Run("chain-workers="+strconv.Itoa(workers), func(b *testing.B) {
			var peak float64
			for i := 0; i < b.N; i++ {
				resetPeakRSS()
				v, _ := New(Options{Store: st, Keys: f.keys, Start: fxStart, End: fxStart.Add(24 * time.Hour), ChainWorkers: workers})
				if _, err := v.ValidateAll(context.Background(), ids); err != nil {
					b.Fatal(err)
				}
				peak = max(peak, peakRSSMB())
			}
			b.ReportMetric(peak, "peak-RSS-MB")
		})
	}
}

// resetPeakRSS returns memory the runtime holds to the OS, then resets the process's VmHWM (Linux:
// writing 5 to clear_refs), so the peak read afterwards is the run's own.
func resetPeakRSS() {
	debug.FreeOSMemory()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSSMB reads VmHWM, the process's peak resident set since the last reset.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
