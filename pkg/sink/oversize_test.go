package sink

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestOversizeValueReadsBack writes Resolver records whose query_name (a dictionary column) is
// 3 MiB and 12 MiB (parse caps a record at 16 MiB) among ordinary ones and reads the file back with Arrow's pqarrow. Page-header
// statistics used to carry such a value four times (min, max and their deprecated copies): a page
// header past Arrow's 4 MiB limit made pqarrow return an empty column and then panic.
func TestOversizeValueReadsBack(t *testing.T) {
	objs := resolverSamples(t)
	lines := jsonLines(t, objs[0].body)
	if len(lines) == 0 {
		t.Fatal("no Resolver sample record")
	}
	names := []string{"www.example.com.", strings.Repeat("a", 3<<20) + ".example.com.", "mail.example.com.",
		strings.Repeat("b", 12<<20) + ".example.net.", "www.example.com."}
	var body strings.Builder
	for _, n := range names {
		rec := lines[0]
		rec["query_name"] = n
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		body.Write(b)
		body.WriteByte('\n')
	}
	s, root := newLocalSink(t, Options{})
	ingest(t, s, []sampleObject{{key: objs[0].key, body: []byte(body.String())}})
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows := readTable(t, root, TableResolver)
	if len(rows) != len(names) {
		t.Fatalf("read %d rows, wrote %d", len(rows), len(names))
	}
	for _, r := range rows {
		_, idx := lineageOf(t, r)
		if got, _ := r["query_name"].(string); got != names[idx] {
			t.Errorf("row %d: query_name of %d bytes, want %d", idx, len(got), len(names[idx]))
		}
	}
}
