package ocsf

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logarchive/logarchive/internal/samples"
	"github.com/logarchive/logarchive/pkg/parse"
)

// FuzzFlattenJSON: any JSON document flattens without error under its prefix; anything else is
// an error, never a panic.
func FuzzFlattenJSON(f *testing.F) {
	for _, s := range []string{`{"a":{"b":[1,{"c":"d"}]}}`, `[]`, `"x"`, `{"a":null}`, `{"a":[[1,2],[3]]}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		m := map[string]string{}
		err := flattenJSON(m, "p", doc, nil)
		if json.Valid(doc) && err != nil {
			t.Fatalf("valid JSON %q: %v", doc, err)
		}
		for k := range m {
			if !strings.HasPrefix(k, "p") {
				t.Fatalf("key %q outside the prefix", k)
			}
		}
	})
}

// FuzzCloudTrailRecord maps whatever pkg/parse accepts as a CloudTrail record: the mapping never
// panics, keeps the event's time and classification rules, and the row encodes as Parquet.
func FuzzCloudTrailRecord(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(samples.Samples(f, "cloudtrail", "aws-samples-ocsf-validation"), "*", "*.test.gz"))
	for _, s := range seeds {
		if rec := firstRecord(f, s); rec != nil {
			f.Add(rec)
		}
	}
	f.Add([]byte(`{"eventTime":"2024-01-01T00:00:00Z","eventName":"ConsoleLogin","responseElements":{"ConsoleLogin":7}}`))
	f.Add([]byte(`{"eventTime":"2024-01-01T00:00:00Z","eventName":"CreateUser","userIdentity":{"sessionContext":{"attributes":{"creationDate":"x"}}}}`))
	f.Fuzz(func(t *testing.T, record []byte) {
		body := append(append([]byte(`{"Records":[`), record...), ']', '}')
		obj := parse.Classify("archive", "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/111122223333_CloudTrail_us-east-1_20240101T0000Z_abcd.json.gz")
		dec, err := parse.NewDecoder(obj, bytes.NewReader(body), parse.Options{MaxRecordBytes: 1 << 20})
		if err != nil {
			return
		}
		var rec parse.Record
		for {
			if err := dec.Next(&rec); err != nil {
				return
			}
			row, err := FromRecord(&rec)
			var ue *UnsupportedError
			if errors.Is(err, ErrNoTime) || errors.As(err, &ue) {
				continue
			}
			if err != nil {
				// free-form members were validated by parse; flattening them must not fail
				t.Fatalf("mapping %q: %v", record, err)
			}
			if row.EventTime() != rec.CloudTrail.EventTime.UnixMilli() || row.Class() != CloudTrailClass(rec.CloudTrail.EventName) {
				t.Fatalf("row time %d class %v for %q", row.EventTime(), row.Class(), record)
			}
			encodeRow(t, row)
		}
	})
}

func firstRecord(tb testing.TB, path string) []byte {
	fh, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	var doc struct{ Records []json.RawMessage }
	if json.Unmarshal(data, &doc) != nil || len(doc.Records) == 0 {
		return nil
	}
	return doc.Records[0]
}

// FuzzStripIntAnnotations: the footer rewrite refuses what is not a Parquet file with an error,
// and a rewritten file still opens.
func FuzzStripIntAnnotations(f *testing.F) {
	row := &DNSActivity{Time: 1, Metadata: Metadata{Version: OCSFVersion}, Cloud: Cloud{Provider: "AWS"}}
	f.Add(encodeRow(f, row))
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Add([]byte("PAR1\xff\xff\xff\x7fPAR1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := stripIntAnnotations(data, "x")
		if err != nil {
			return
		}
		if !bytes.HasSuffix(out, []byte("PAR1")) {
			t.Fatalf("rewritten file does not end in PAR1")
		}
	})
}
