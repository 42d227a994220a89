// Package ocsf maps logarchive's parsed records (pkg/parse) and metric-filter findings (pkg/rules)
// to OCSF 1.1.0 events and writes them as Amazon Security Lake custom-source objects.
//
// It promises:
//   - One Go struct per OCSF class (6003 API Activity, 3002 Authentication, 3001 Account Change,
//     4001 Network Activity, 4003 DNS Activity, 2004 Detection Finding) whose Parquet schema uses the
//     physical types Security Lake's own 1.1.0 objects use: timestamp_t as INT64 epoch milliseconds
//     with no logical type (`time` REQUIRED), datetime_t (`*_dt`) as TIMESTAMP(MILLIS, UTC), enums
//     INT32, type_uid INT64, json_t as JSON text, `unmapped` as MAP<STRING,STRING>, and no group that
//     could be empty (optional objects are pointers and are left out when they would hold nothing).
//   - The mapping AWS uses for its native sources (ocsf/examples mappings/markdown/AWS/v1.1.0),
//     with every deliberate deviation listed in docs/security-lake.md.
//   - Objects laid out as Security Lake requires: one class per source, keys
//     <source location>region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/<name>.zstd.parquet,
//     each row group sorted by time, data pages ≤ 1 MB uncompressed, bounded row groups, zstd.
//   - Written by the one Parquet writer core: Layout is the Security Lake layout of pkg/sink (ocsf
//     imports sink, never the reverse), so staging per object, encode-once spills, the memory
//     budget, names derived from the inputs, atomic objects, BeforeCommit/AfterCommit and Done are
//     the same as for the Athena tables; the layout adds the class mapping, PartitionOf and the
//     footer rewrite. Writer is a convenience over it for callers that hold mapped rows.
//
// Bad input (a record with no time, a CloudTrail Insights event, an invalid partition value) is
// an error naming what is wrong, never a panic.
package ocsf
