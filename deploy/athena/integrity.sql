-- CloudTrail digest verification results: one row per checked log object (status valid, invalid,
-- missing …) plus rows about a digest itself (chain or signature problems, object columns NULL).
-- Partitioned by the day of verification (verified_at). Rows are sorted by verified_at.
--
-- Written by logarchive pkg/sink: Parquet (zstd), Hive partitions integrity/dt=YYYY-MM-DD/ by event day
-- (UTC), partition projection (no crawler, no MSCK REPAIR). Replace LAKE_LOCATION with the sink's
-- destination as bucket/prefix (e.g. sed 's#LAKE_LOCATION#my-lake-bucket/logarchive#g'); narrow
-- projection.dt.range to the first day of data so unfiltered queries list fewer prefixes.
-- Column types are checked against the writer's schema by pkg/sink TestDDLMatchesWriterSchema.
CREATE EXTERNAL TABLE IF NOT EXISTS `integrity` (
  `verified_at` timestamp,
  `digest_bucket` string,
  `digest_key` string,
  `chain_account` string,
  `chain_region` string,
  `chain_trail` string,
  `object_bucket` string,
  `object_key` string,
  `status` string,
  `class` string,
  `reason` string,
  `digest_end_time` timestamp
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://LAKE_LOCATION/integrity/'
TBLPROPERTIES (
  'classification'='parquet',
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='2020-01-01,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://LAKE_LOCATION/integrity/dt=${dt}/'
);
