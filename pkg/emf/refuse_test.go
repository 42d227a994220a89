package emf

import (
	"bytes"
	"testing"
	"time"
)

// TestRefusedSamplesAreCounted: samples CloudWatch would refuse are not written and each is counted
// under its reason; a good one beside them is written.
func TestRefusedSamplesAreCounted(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	a := New(&out, Options{Now: func() time.Time { return now }})
	d := func(ts time.Time, ns string, dims ...Dimension) Datum {
		return Datum{Time: ts, Namespace: ns, Name: "m", Value: 1, Dimensions: dims}
	}
	for _, x := range []Datum{
		d(now.Add(-15*24*time.Hour), "LogArchive"),
		d(now.Add(3*time.Hour), "LogArchive"),
		d(now, "AWS/EC2"),
		d(now, "LogArchive", Dimension{Name: "account", Value: ""}),
		d(now, "LogArchive", Dimension{Name: "account", Value: "caf\u00e9"}),
		d(now, "LogArchive", Dimension{Name: "account", Value: "111122223333"}),
	} {
		if err := a.Add(x); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	st := a.Stats()
	if st.Added != 1 || st.Dropped != 5 || st.DroppedTooOld != 1 || st.DroppedFuture != 1 || st.DroppedNamespace != 1 || st.DroppedDimension != 2 {
		t.Fatalf("stats %+v", st)
	}
	if bytes.Count(out.Bytes(), []byte("\n")) != 1 || !bytes.Contains(out.Bytes(), []byte("111122223333")) {
		t.Fatalf("written:\n%s", out.String())
	}
}
