// Package parse turns the objects of an org Log Archive bucket into typed records.
//
// It detects what an object is (CloudTrail, CloudTrail Insights, VPC Flow Logs, Route 53 Resolver
// query logs, CloudTrail digests) from its key layout (Classify) and its bytes (NewDecoder), and
// decodes it one record at a time: it never holds a whole object in memory, except a Parquet flow
// log, which Parquet's footer index forces into memory (≤ 75 MB by AWS's limit, and never more than
// Options.MaxInflatedBytes). The record model defined here is the one model the filter and sink
// packages share; nothing downstream re-parses an object.
//
// # Promises
//
//   - Gzip is recognised by its magic bytes only. Concatenated gzip members are read in turn; bytes
//     after the last member that are not another member are ErrTrailingData.
//   - An object never inflates past Options.MaxInflatedBytes and no single record is buffered past
//     Options.MaxRecordBytes (ErrTooLarge), whatever the input.
//   - Record.Raw is the exact text of the record (a CloudTrail or Resolver JSON object, a flow-log
//     line), so filters match it without a second parse. Duplicated CloudTrail eventIDs are kept:
//     deduplication is not a parser's job.
//   - Strings in a decoded record are slices of one string copy of that record (free-form JSON
//     members of one []byte copy); keeping any of them keeps that record's text alive, nothing more.
//     Text flow logs and Resolver logs are the exception: their lines are copied 16 KiB at a time,
//     so a kept string keeps up to 16 KiB of lines alive.
//   - Decoding many objects costs per object only what the object needs when the decoders come
//     from one Decoders per worker (read buffers, inflater and window are reused); with
//     Decoders.ReuseRecords the record structs are reused too, for consumers that copy what they
//     keep before the next record.
//   - Bad input never panics; it yields an *Error naming the object, the class of fault, and the
//     inflated byte offset or the line.
//
// # What happens to records decoded before an error
//
// Errors come in two kinds.
//
// A bad record (ErrBadRecord: a flow-log line with the wrong number of fields or a non-numeric port,
// a CloudTrail record whose members have the wrong JSON type, a Resolver line that is not a JSON
// object) is not fatal: the decoder skips it, counts it, and goes on; Next never returns it. After
// io.EOF the caller reads the count and the first errors from BadRecordReporter.BadRecords and
// reports them. Record.Index counts skipped records too, so an index names the same record whatever
// is skipped.
//
// Any other *Error (corrupt or truncated gzip, malformed or truncated JSON, trailing data, unknown
// format, too large) ends the object: Next returns it, and keeps returning it. Records returned
// before it were decoded from bytes that passed every check so far and stand as valid records, but
// the object as a whole is poison (IsPoison): the caller quarantines it (copies it aside with the
// error's class as the reason) and must not acknowledge it as processed. Whether to keep the records
// already yielded is the caller's policy; the pipeline discards its partial output for a quarantined
// object, so that an object is either processed whole or not at all, and replaying it after a fix
// yields each record once.
//
// An error that is not an *Error is a failure to read the object (network, context cancelled): the
// object may be fine, and the caller retries it.
package parse
