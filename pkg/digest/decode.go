package digest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxDigestSize bounds the inflated size of one digest. Real digests list at most a few thousand log
// files (a few MB); anything larger is refused rather than held in memory.
const MaxDigestSize = 256 << 20

// requiredMembers must be present (null allowed) before a digest is checked further, in aws-cli's order.
var requiredMembers = []string{
	"digestPublicKeyFingerprint", "digestS3Bucket", "digestS3Object",
	"previousDigestSignature", "digestEndTime", "digestStartTime",
}

// Inflate gunzips one digest object. trailing reports bytes after the first gzip member, which
// aws-cli silently ignores for digests (zlib.decompress) — we keep going but say so.
func Inflate(body []byte) (inflated []byte, trailing bool, err error) {
	br := bytes.NewReader(body)
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, false, fmt.Errorf("gunzip: %w", err)
	}
	zr.Multistream(false)
	inflated, err = io.ReadAll(io.LimitReader(zr, MaxDigestSize+1))
	if err != nil {
		return nil, false, fmt.Errorf("gunzip: %w", err)
	}
	if len(inflated) > MaxDigestSize {
		return nil, false, fmt.Errorf("gunzip: inflated digest exceeds %d bytes", MaxDigestSize)
	}
	return inflated, br.Len() > 0, nil
}

// Decode parses inflated digest JSON. missing names the first member aws-cli requires that is absent
// ("" when all are present); hasLogFiles is false when logFiles is absent (aws-cli crashes on that).
// err is set when the bytes are not UTF-8 JSON of the digest's shape.
func Decode(inflated []byte) (d *Digest, missing string, hasLogFiles bool, err error) {
	if !utf8.Valid(inflated) {
		return nil, "", false, errors.New("digest is not UTF-8")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(inflated, &members); err != nil {
		return nil, "", false, fmt.Errorf("digest JSON: %w", err)
	}
	d = new(Digest)
	if err := json.Unmarshal(inflated, d); err != nil {
		return nil, "", false, fmt.Errorf("digest JSON: %w", err)
	}
	for _, m := range requiredMembers {
		if _, ok := members[m]; !ok {
			missing = m
			break
		}
	}
	_, hasLogFiles = members["logFiles"]
	return d, missing, hasLogFiles, nil
}

// ParseDigestTime parses a digest timestamp (YYYY-MM-DDTHH:MM:SSZ, RFC 3339 tolerated).
func ParseDigestTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("digest time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// ParseUserTime parses a --start-time/--end-time value. Offsets are converted to UTC (aws-cli
// replaces them, silently shifting the range); values without a zone are UTC, as in aws-cli.
// The error text matches aws-cli's.
func ParseUserTime(s string) (time.Time, error) {
	v := strings.TrimSpace(s)
	layouts := []string{
		time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02 15:04:05Z07:00",
		"20060102T150405Z", "20060102T1504Z", "20060102T150405Z0700",
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), nil
		}
	}
	local := []string{"2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02T15:04",
		"2006-01-02 15:04", "2006-01-02", "2006/01/02", "20060102", "20060102T150405"}
	for _, l := range local {
		if t, err := time.ParseInLocation(l, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("Unable to parse date value: %s", s)
}

// The range of --start-time/--end-time values aws-cli can validate: it lists from start − 1 minute
// and loads keys up to end + 2 hours with Python datetimes, which end at years 1 and 9999. Outside it
// aws-cli stops with "date value out of range" (rc 255); beyond it our own key bounds would name
// year 10000, which sorts below every real key as a string and would silently list nothing.
var (
	MinUserTime = time.Date(1, 1, 1, 0, 1, 0, 0, time.UTC)
	MaxUserTime = time.Date(9999, 12, 31, 21, 59, 59, 999999000, time.UTC)
)

// ErrDateRange is aws-cli's message (Python's OverflowError) for a time outside
// [MinUserTime, MaxUserTime].
var ErrDateRange = errors.New("date value out of range")

// CheckUserRange reports ErrDateRange when start or end lies outside what aws-cli can validate.
func CheckUserRange(start, end time.Time) error {
	if start.Before(MinUserTime) || end.After(MaxUserTime) {
		return ErrDateRange
	}
	return nil
}
