package pipeline

import (
	"context"
	"errors"

	"github.com/logarchive/logarchive/pkg/rules"
	"github.com/logarchive/logarchive/pkg/sink"
)

// ParquetSink hands batches to the Parquet sink, one sink input per object, so the object's done
// callback fires when its last row is in a committed file.
type ParquetSink struct {
	S *sink.Sink
}

func (p ParquetSink) Write(ctx context.Context, b *Batch, done func(error)) error {
	in := p.S.Begin(sink.InputRef{Bucket: b.Object.Bucket, Key: b.Object.Key, ETag: b.ETag, Done: done})
	// Errors from Add are either about one row (no table for it) or a checkpoint the add triggered
	// failing; in the latter case the row is kept and retried by the next checkpoint.
	var unsupported *sink.UnsupportedRecordError
	for i := range b.Records {
		if err := in.Add(ctx, &b.Records[i]); err != nil && !errors.As(err, &unsupported) {
			if errors.Is(err, sink.ErrClosed) {
				in.End()
				return err
			}
		}
	}
	for _, f := range b.Findings {
		if err := in.AddFinding(ctx, FindingRow(f)); errors.Is(err, sink.ErrClosed) {
			in.End()
			return err
		}
	}
	for _, r := range b.Integrity {
		if err := in.AddIntegrity(ctx, r); errors.Is(err, sink.ErrClosed) {
			in.End()
			return err
		}
	}
	in.End()
	return nil
}

// FindingRow maps a rules finding onto the findings table's row.
func FindingRow(f rules.Finding) sink.FindingRow {
	return sink.FindingRow{
		EventTime: f.EventTime, Rule: f.Rule, MetricNamespace: f.MetricNamespace, MetricName: f.MetricName,
		MetricValue: f.MetricValue, Source: f.Source, Account: f.Account, Region: f.Region, EventID: f.EventID,
		EventJSON: f.EventJSON, Lineage: sink.Lineage{Bucket: f.SourceBucket, Key: f.SourceKey, Index: f.SourceIndex},
	}
}
