-- VPC Flow Logs, one row per flow record, any custom format (fields the format lacks are NULL).
-- Integer widths follow AWS's own Parquet flow logs (protocol is INT, not BIGINT). The window bounds
-- are timestamps named start_time/end_time (AWS's `start`/`end` are Unix seconds as BIGINT).
-- Fields this version does not know are kept in `unmapped` by header name.
-- Rows are sorted by start_time within each file.
--
-- Written by logarchive pkg/sink: Parquet (zstd), Hive partitions vpcflow/dt=YYYY-MM-DD/ by event day
-- (UTC), partition projection (no crawler, no MSCK REPAIR). Replace LAKE_LOCATION with the sink's
-- destination as bucket/prefix (e.g. sed 's#LAKE_LOCATION#my-lake-bucket/logarchive#g'); narrow
-- projection.dt.range to the first day of data so unfiltered queries list fewer prefixes.
-- Column types are checked against the writer's schema by pkg/sink TestDDLMatchesWriterSchema.
CREATE EXTERNAL TABLE IF NOT EXISTS `vpcflow` (
  `start_time` timestamp,
  `end_time` timestamp,
  `version` int,
  `account_id` string,
  `interface_id` string,
  `srcaddr` string,
  `dstaddr` string,
  `srcport` int,
  `dstport` int,
  `protocol` int,
  `packets` bigint,
  `bytes` bigint,
  `action` string,
  `log_status` string,
  `vpc_id` string,
  `subnet_id` string,
  `instance_id` string,
  `tcp_flags` int,
  `type` string,
  `pkt_srcaddr` string,
  `pkt_dstaddr` string,
  `region` string,
  `az_id` string,
  `sublocation_type` string,
  `sublocation_id` string,
  `pkt_src_aws_service` string,
  `pkt_dst_aws_service` string,
  `flow_direction` string,
  `traffic_path` int,
  `ecs_cluster_arn` string,
  `ecs_cluster_name` string,
  `ecs_container_instance_arn` string,
  `ecs_container_instance_id` string,
  `ecs_container_id` string,
  `ecs_second_container_id` string,
  `ecs_service_name` string,
  `ecs_task_definition_arn` string,
  `ecs_task_arn` string,
  `ecs_task_id` string,
  `reject_reason` string,
  `resource_id` string,
  `encryption_status` int,
  `unmapped` map<string,string>,
  `source_bucket` string,
  `source_key` string,
  `source_index` bigint
)
PARTITIONED BY (`dt` string)
STORED AS PARQUET
LOCATION 's3://LAKE_LOCATION/vpcflow/'
TBLPROPERTIES (
  'classification'='parquet',
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='2020-01-01,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://LAKE_LOCATION/vpcflow/dt=${dt}/'
);
