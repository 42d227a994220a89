-- Metric-filter matches: which rule matched which record, with the metric it feeds. A finding
-- refers to its event instead of copying it: event_id, and source_bucket/source_key/source_index
-- (the record's object and index) join back to the log table (docs/lake.md). event_json holds the
-- matched record's text only when ingest runs with --finding-event-json; it is NULL otherwise.
-- Rows are sorted by event_time within each file.
--
-- Written by logarchive pkg/sink: Parquet (zstd), Hive partitions findings/dt=YYYY-MM-DD/ by event day
-- (UTC), partition projection (no crawler, no MSCK REPAIR). Replace LAKE_LOCATION with the sink's
-- destination as bucket/prefix (e.g. sed 's#LAKE_LOCATION#my-lake-bucket/logarchive#g'); narrow
-- projection.dt.range to the first day of data so unfiltered queries list fewer prefixes.
-- Column types are checked against the writer's schema by pkg/sink TestDDLMatchesWriterSchema.
CREATE EXTERNAL TABLE IF NOT EXISTS `findings` (
  `event_time` timestamp,
  `rule` string,
  `metric_namespace` string,
  `metric_name` string,
  `metric_value` double,
  `source` string,
  `account` string,
  `region` string,
  `event_id` string,
  `event_json` string,
  `source_bucket` string,
  `source_key` string,
  `source_index` bigint
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://LAKE_LOCATION/findings/'
TBLPROPERTIES (
  'classification'='parquet',
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='2020-01-01,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://LAKE_LOCATION/findings/dt=${dt}/'
);
