// Package filter implements the CloudWatch Logs filter pattern language — unstructured terms,
// space-delimited patterns, JSON patterns and %regex% — and PutMetricFilter's metric transformations,
// so metric filters run inside the agent over raw records instead of in CloudWatch.
//
// What it promises:
//   - Compile accepts and rejects what CloudWatch Logs accepts and rejects (the project's reference is
//     shared/specs/filter-pattern.md); rejections are *Error values with a kind and a byte offset.
//   - Match gives CloudWatch's verdict on a message, and MatchFields the extracted values
//     TestMetricFilter reports.
//   - Evaluation is linear in the message for a compiled pattern: globs are matched greedily segment
//     by segment (no backtracking), regexes run on RE2, and a JSON pattern resolves all its selectors
//     in a single pass over the raw bytes, descending only into members a selector names. Nothing is
//     unmarshalled, and Match does not allocate in steady state.
//   - A *Pattern is immutable and safe for concurrent use. A Set evaluates many patterns on one
//     message with a single scan; Require exposes what a pattern needs of one field, so callers
//     holding decoded fields can skip patterns that cannot match.
//   - NewTransform validates a MetricTransformation as PutMetricFilter does and computes the sample
//     an event publishes (values, defaults, dimensions, system fields); CompileSelection handles
//     fieldSelectionCriteria; TestMessages reproduces TestMetricFilter.
//
// Choices where the reference is open or uncertain (strongest evidence first):
//   - Globs: every '*' in a JSON or space-delimited string value is a wildcard, wherever it stands
//     ([DEC], needed by the elevated-role SwitchRole filter). A literal '*' cannot be expressed.
//   - Quoted strings decode \" and \\ only; other backslashes are kept as written (floci's reading).
//   - IS NULL is true for an array with a null among its top-level elements, at any position.
//   - Numbers: integers are exact, other JSON numbers are IEEE doubles (overflow is a non-comparable
//     Infinity, underflow is 0); literals are exact decimals, so 0.1 equals the double 0.1 (its
//     shortest decimal form). Space-delimited tokens and JSON strings used as metric values are read
//     as exact decimals ("01" equals 1, "+1" equals 1).
//   - Duplicate JSON keys: the last one wins. Documents nested deeper than 1000 levels never match
//     (Jackson's default limit). Invalid UTF-8 inside strings is not checked.
//   - Regexes: beyond the documented whitelist, constructs whose meaning differs between Java and
//     RE2 are refused: a nested '[' inside a character class, and a '{' that does not open a
//     {n}, {n,} or {n,m} repetition (so {,n} is refused). '$' matches only at the very end.
//   - Space-delimited values may contain any character except whitespace and , [ ] ( ) & | " % = ! < >;
//     parentheses group conditions inside a field.
//   - A field-reference metricValue or dimension needs the matching pattern kind ($.x: JSON, $name /
//     $N: space-delimited); a JSON string holding a number ("3") is a numeric metric value; ±Infinity
//     publishes nothing.
package filter
