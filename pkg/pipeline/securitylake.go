package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/logarchive/logarchive/pkg/ocsf"
	"github.com/logarchive/logarchive/pkg/store"
)

// SecurityLakeSink writes batches as OCSF 1.1.0 objects for Amazon Security Lake custom sources,
// one source per class. Integrity rows have no OCSF class here and are not written; Insights records
// have no AWS-native mapping and are skipped (counted).
//
// Done callbacks fire at Flush, when every buffered row is committed: the OCSF writer does not track
// inputs across partial flushes, so this sink suits runs that end with a Flush (ingest local,
// backfill --dest), not the SQS worker's exactly-once protocol.
type SecurityLakeSink struct {
	W     *ocsf.Writer
	Stats *Stats

	mu      sync.Mutex
	pending []func(error)
}

// SecurityLakeSources maps every class to ext/<default source name>/ under loc (or under the
// provider.location-style prefix already in loc).
func SecurityLakeSources(loc store.Location, version string) (map[ocsf.Class]store.Location, error) {
	out := map[ocsf.Class]store.Location{}
	for _, c := range ocsf.Classes() {
		prefix, err := ocsf.SourcePrefix(c.DefaultSourceName(), version)
		if err != nil {
			return nil, err
		}
		l := loc
		l.Prefix += prefix
		out[c] = l
	}
	return out, nil
}

func (s *SecurityLakeSink) Write(ctx context.Context, b *Batch, done func(error)) error {
	// Map everything first so that a batch is added whole or not at all.
	type item struct {
		row ocsf.Row
		lin ocsf.Lineage
	}
	items := make([]item, 0, len(b.Records)+len(b.Findings))
	var unsupported *ocsf.UnsupportedError
	// A record without a time of its own (a custom flow format without start and end) takes its
	// key's delivery time, else the processing time, as the Athena layout partitions it.
	origin := ocsf.OriginOf(b.Object, time.Now())
	for i := range b.Records {
		rec := &b.Records[i]
		row, err := ocsf.FromRecordIn(rec, origin)
		if err == nil {
			// Decide the partition now, so that Add cannot refuse a row halfway through the object.
			_, err = ocsf.PartitionOf(row, ocsf.Lineage{Account: b.Object.Account, Region: b.Object.Region})
		}
		if err != nil {
			// Records OCSF has no class for, or without a time to partition by, are counted, not
			// fatal to the object: its other records are still good events.
			name := "ocsf_unmapped"
			if errors.As(err, &unsupported) {
				name = "ocsf_unsupported"
			}
			if s.Stats != nil {
				s.Stats.Add(rec.Source, name, 1)
			}
			continue
		}
		items = append(items, item{row, ocsf.Lineage{Bucket: b.Object.Bucket, Key: b.Object.Key, Index: rec.Index,
			Account: b.Object.Account, Region: b.Object.Region}})
	}
	for i := range b.Findings {
		f := &b.Findings[i]
		row, err := ocsf.DetectionFindingOf(f)
		if err != nil {
			return fmt.Errorf("ocsf detection finding for s3://%s/%s: %w", b.Object.Bucket, b.Object.Key, err)
		}
		if _, err := ocsf.PartitionOf(row, ocsf.Lineage{Account: b.Object.Account, Region: b.Object.Region}); err != nil {
			if s.Stats != nil {
				s.Stats.Add(b.Object.Source, "ocsf_unmapped", 1)
			}
			continue
		}
		items = append(items, item{row, ocsf.Lineage{Bucket: f.SourceBucket, Key: f.SourceKey, Index: f.SourceIndex,
			Account: b.Object.Account, Region: b.Object.Region}})
	}
	for _, it := range items {
		if err := s.W.Add(ctx, it.row, it.lin); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.pending = append(s.pending, done)
	s.mu.Unlock()
	return nil
}

// Flush writes every buffered row and then reports the batches written so far as durable.
func (s *SecurityLakeSink) Flush(ctx context.Context) error {
	s.mu.Lock()
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	_, err := s.W.Flush(ctx)
	for _, d := range pending {
		d(err)
	}
	return err
}
