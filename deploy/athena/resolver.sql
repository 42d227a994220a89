-- Route 53 Resolver query logs, one row per query. srcport is an INT (a string in the JSON);
-- members this version does not know are JSON text in `unmapped`.
-- Rows are sorted by query_timestamp within each file.
--
-- Written by logarchive pkg/sink: Parquet (zstd), Hive partitions resolver/dt=YYYY-MM-DD/ by event day
-- (UTC), partition projection (no crawler, no MSCK REPAIR). Replace LAKE_LOCATION with the sink's
-- destination as bucket/prefix (e.g. sed 's#LAKE_LOCATION#my-lake-bucket/logarchive#g'); narrow
-- projection.dt.range to the first day of data so unfiltered queries list fewer prefixes.
-- Column types are checked against the writer's schema by pkg/sink TestDDLMatchesWriterSchema.
CREATE EXTERNAL TABLE IF NOT EXISTS `resolver` (
  `version` string,
  `account_id` string,
  `region` string,
  `vpc_id` string,
  `query_timestamp` timestamp,
  `query_name` string,
  `query_type` string,
  `query_class` string,
  `rcode` string,
  `answers` array<struct<rdata:string,type:string,class:string>>,
  `srcaddr` string,
  `srcport` int,
  `transport` string,
  `srcids` struct<instance:string,resolver_endpoint:string,resolver_network_interface:string>,
  `firewall_rule_group_id` string,
  `firewall_rule_action` string,
  `firewall_domain_list_id` string,
  `firewall_protection` string,
  `unmapped` string,
  `source_bucket` string,
  `source_key` string,
  `source_index` bigint
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://LAKE_LOCATION/resolver/'
TBLPROPERTIES (
  'classification'='parquet',
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='2020-01-01,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://LAKE_LOCATION/resolver/dt=${dt}/'
);
