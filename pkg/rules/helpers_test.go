package rules

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/logarchive/logarchive/internal/samples"
	"github.com/logarchive/logarchive/pkg/parse"
)

const ctKey = "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/"

// decodeAll runs pkg/parse's decoder over one CloudTrail object and keeps every record (Raw copied,
// since the decoder reuses its buffer).
func decodeAll(tb testing.TB, key string, body []byte) []*parse.Record {
	tb.Helper()
	obj := parse.Classify("archive", key)
	dec, err := parse.NewDecoder(obj, bytes.NewReader(body), parse.Options{})
	if err != nil {
		tb.Fatalf("%s: %v", key, err)
	}
	var out []*parse.Record
	for {
		rec := &parse.Record{}
		err := dec.Next(rec)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatalf("%s: %v", key, err)
		}
		rec.Raw = append([]byte(nil), rec.Raw...)
		out = append(out, rec)
	}
}

// ctRecord turns one CloudTrail event's JSON into a parsed record.
func ctRecord(tb testing.TB, event string) *parse.Record {
	tb.Helper()
	recs := decodeAll(tb, ctKey+"test.json", []byte(`{"Records":[`+event+`]}`))
	if len(recs) != 1 {
		tb.Fatalf("want one record, got %d", len(recs))
	}
	return recs[0]
}

type sampleFile struct {
	key  string
	body []byte
}

func sampleFiles(tb testing.TB) []sampleFile {
	tb.Helper()
	dir := samples.Samples(tb, "cloudtrail", "invictus-ir-aws_dataset")
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(names) == 0 {
		tb.Fatalf("no samples in %s", dir)
	}
	sort.Strings(names)
	var out []sampleFile
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, sampleFile{key: ctKey + filepath.Base(n), body: b})
	}
	return out
}
