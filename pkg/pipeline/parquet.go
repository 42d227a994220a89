package pipeline

import (
	"github.com/logarchive/logarchive/pkg/ack"
	"github.com/logarchive/logarchive/pkg/rules"
	"github.com/logarchive/logarchive/pkg/sink"
)

// ParquetSink streams objects into the Parquet writer core (either layout): one sink input per
// object, whose done callback fires when its last row is in a committed file.
type ParquetSink struct {
	S *sink.Sink
}

func (p ParquetSink) Begin(ref ack.Ref, done ack.Done) ObjectWriter { return p.S.Begin(ref, done) }

// FindingRow maps a rules finding onto the findings table's row.
func FindingRow(f rules.Finding) sink.FindingRow {
	return sink.FindingRow{
		EventTime: f.EventTime, Rule: f.Rule, MetricNamespace: f.MetricNamespace, MetricName: f.MetricName,
		MetricValue: f.MetricValue, Source: f.Source, Account: f.Account, Region: f.Region, EventID: f.EventID,
		EventJSON: f.EventJSON, Lineage: sink.Lineage{Bucket: f.SourceBucket, Key: f.SourceKey, Index: f.SourceIndex},
	}
}
