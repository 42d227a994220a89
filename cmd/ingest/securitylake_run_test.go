package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/logarchive/logarchive/pkg/parse"
	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

// TestRunSecurityLakeSurvivesKill9: `ingest run --format security-lake` is killed with SIGKILL at
// random moments, 20 times, and restarted each time; the OCSF output (read back with Arrow's
// pqarrow) then holds every mapped record exactly once: the Security Lake layout runs on the same
// writer core and ledger protocol as the Athena tables.
func TestRunSecurityLakeSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	a := newArchive(t, tinyArchive(), 1000)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	var logs bytes.Buffer
	kills := soak(20, 6)
	for range kills {
		cmd := a.worker(t, &logs, "--format", "security-lake", "--log-level", "info")
		time.Sleep(time.Duration(300+rng.IntN(2200)) * time.Millisecond)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}
	cmd := a.worker(t, &logs, "--format", "security-lake", "--exit-when-idle", "8s", "--log-level", "info")
	if err := wait(t, cmd, 3*time.Minute, &logs); err != nil {
		t.Fatalf("final worker: %v\n%s", err, tail(logs.String(), 4000))
	}
	if v, inv := a.queueDepth(t, a.queueURL); v+inv != 0 {
		t.Fatalf("queue holds %d visible and %d invisible messages", v, inv)
	}
	if v, inv := a.queueDepth(t, a.dlqURL); v+inv != 0 {
		t.Fatalf("dead-letter queue holds %d messages", v+inv)
	}

	got := a.readOCSF(t)
	m := a.manifest
	// Insights events have no OCSF class; every other record is mapped (TestSecurityLakeAcceptance).
	want := map[string]int{
		"CloudTrail": m.Tables[synth.TableCloudTrail].Records,
		"Amazon VPC": m.Tables[synth.TableVPCFlow].Records,
		"Route 53":   m.Tables[synth.TableResolver].Records,
	}
	for product, n := range want {
		if n == 0 {
			t.Fatalf("the archive has no %s records: %+v", product, m.Tables)
		}
		if got.rows[product] != n {
			t.Errorf("%s: %d OCSF rows, want %d (one per record)", product, got.rows[product], n)
		}
	}
	// CloudTrail rows carry their eventID as metadata.uid: each as many times as the archive holds
	// it (decoded independently here), no more, no less.
	archived := a.cloudTrailEventIDs(t)
	for uid, n := range archived {
		if got.cloudTrailUIDs[uid] != n {
			t.Errorf("event %s: %d rows, %d in the archive", uid, got.cloudTrailUIDs[uid], n)
		}
	}
	for uid, n := range got.cloudTrailUIDs {
		if archived[uid] == 0 {
			t.Errorf("event %s: %d rows, not in the archive", uid, n)
		}
	}
	t.Logf("after %d kills: %d objects, rows %v; transactions of killed workers rolled back: %d", kills, got.objects,
		got.rows, strings.Count(logs.String(), "aborting transaction of a dead owner"))
	if t.Failed() {
		t.Log(tail(logs.String(), 8000))
	}
}

type ocsfRows struct {
	objects        int
	rows           map[string]int // by metadata.product.name
	cloudTrailUIDs map[string]int
}

// readOCSF reads every Security Lake object under the destination with pqarrow.
func (a *archive) readOCSF(t *testing.T) ocsfRows { return a.readOCSFIn(t, "out", "tables/ext/") }

// readOCSFIn reads every Security Lake object under bucket/prefix with pqarrow.
func (a *archive) readOCSFIn(t *testing.T, bucket, prefix string) ocsfRows {
	t.Helper()
	ctx := context.Background()
	res := ocsfRows{rows: map[string]int{}, cloudTrailUIDs: map[string]int{}}
	err := a.st.List(ctx, bucket, prefix, "", func(info store.Info) error {
		if !strings.HasSuffix(info.Key, ".parquet") {
			return fmt.Errorf("%s: an object that is not Parquet in the lake", info.Key)
		}
		rc, _, err := a.st.Get(ctx, bucket, info.Key)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		rdr, err := file.NewParquetReader(bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("%s: %w", info.Key, err)
		}
		defer rdr.Close()
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
		if err != nil {
			return err
		}
		tbl, err := fr.ReadTable(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", info.Key, err)
		}
		defer tbl.Release()
		res.objects++
		idx := tbl.Schema().FieldIndices("metadata")
		if len(idx) == 0 {
			return fmt.Errorf("%s: no metadata column", info.Key)
		}
		for _, chunk := range tbl.Column(idx[0]).Data().Chunks() {
			md := chunk.(*array.Struct)
			product := structField(md, "product").(*array.Struct)
			names := structField(product, "name")
			uids := structField(md, "uid")
			for i := 0; i < md.Len(); i++ {
				name := stringAt(names, i)
				res.rows[name]++
				if name == "CloudTrail" {
					res.cloudTrailUIDs[stringAt(uids, i)]++
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// cloudTrailEventIDs decodes every CloudTrail object of the archive and counts its eventIDs.
func (a *archive) cloudTrailEventIDs(t *testing.T) map[string]int {
	t.Helper()
	ctx := context.Background()
	ids := map[string]int{}
	err := a.st.List(ctx, a.bucket, "", "", func(info store.Info) error {
		obj := parse.Classify(a.bucket, info.Key)
		if obj.Source != parse.SourceCloudTrail {
			return nil
		}
		rc, _, err := a.st.Get(ctx, a.bucket, info.Key)
		if err != nil {
			return err
		}
		defer rc.Close()
		dec, err := parse.NewDecoder(obj, rc, parse.Options{})
		if err != nil {
			return err
		}
		var rec parse.Record
		for {
			if err := dec.Next(&rec); err == io.EOF {
				return nil
			} else if err != nil {
				return fmt.Errorf("%s: %w", info.Key, err)
			}
			if rec.CloudTrail != nil && rec.Source == parse.SourceCloudTrail {
				ids[rec.CloudTrail.EventID]++
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func structField(s *array.Struct, name string) arrow.Array {
	i, ok := s.DataType().(*arrow.StructType).FieldIdx(name)
	if !ok {
		panic("no struct field " + name)
	}
	return s.Field(i)
}

func stringAt(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return ""
	}
	switch s := a.(type) {
	case *array.String:
		return s.Value(i)
	case *array.Dictionary:
		return s.Dictionary().(*array.String).Value(s.GetValueIndex(i))
	}
	return fmt.Sprint(a.GetOneForMarshal(i))
}
