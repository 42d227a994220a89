package ocsf

import (
	"fmt"
	"path"
	"time"

	"github.com/logarchive/logarchive/pkg/parse"
)

// Origin is what the object a record came from says about the record, for the attributes the
// record itself may lack: the key's account and Region, and a time.
type Origin struct {
	Account, Region string
	// Time is the object's time: the delivery time AWS writes into its log file names
	// (<account>_vpcflowlogs_<region>_<id>_20240101T0005Z_<hash>.log.gz), else whatever the caller
	// knows (OriginOf's fallback: the object's LastModified, or the processing time, as the Athena
	// layout partitions a record without a time).
	Time time.Time
}

// keyTimeRE is the delivery time in the file name of a CloudTrail, flow-log or Resolver object.
var keyTimeRE = lazyRegexp(`_(\d{8}T\d{4}Z)_`)

// KeyTime is the delivery time in an AWS log object's file name, if it has one.
func KeyTime(key string) (time.Time, bool) {
	m := keyTimeRE().FindStringSubmatch(path.Base(key))
	if m == nil {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102T1504Z", m[1])
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// OriginOf is obj's origin: its key account and Region, and its key's delivery time, else
// fallback.
func OriginOf(obj parse.Object, fallback time.Time) Origin {
	o := Origin{Account: obj.Account, Region: obj.Region, Time: fallback}
	if t, ok := KeyTime(obj.Key); ok {
		o.Time = t
	}
	return o
}

// FromRecordIn is FromRecord for a record of a known object: a row whose record names no Region
// (a version-2 or custom-format flow log) gets the object's in cloud.region, and a flow record
// without start and end (custom formats that leave them out) takes o.Time as its `time`, flagged
// in unmapped as time_source=object so that it is never mistaken for a flow window.
func FromRecordIn(rec *parse.Record, o Origin) (Row, error) { return fromRecordIn(rec, o, nil) }

// rowScratch holds the API Activity, flow and Resolver row of one input, filled again for every
// record: the writer core copies a row when it is added, and a fresh 500-600 byte row per record
// was a tenth of the mapping's CPU.
type rowScratch struct {
	api APIActivity
	net NetworkActivity
	dns DNSActivity
}

// fromRecordIn is FromRecordIn, mapping records of those classes into sc's rows when sc is set
// (the row returned is then valid until the next call).
func fromRecordIn(rec *parse.Record, o Origin, sc *rowScratch) (Row, error) {
	if ev := rec.CloudTrail; sc != nil && rec.Source != parse.SourceInsight && ev != nil && !ev.EventTime.IsZero() &&
		ev.InsightDetails == nil && CloudTrailClass(ev.EventName) == ClassAPIActivity {
		r := &sc.api
		if err := fillAPIActivity(r, ev); err != nil {
			return nil, err
		}
		fillRegion(&r.Cloud, o.Region)
		return r, nil
	}
	if sc != nil && rec.Source != parse.SourceInsight && rec.CloudTrail == nil {
		switch {
		case rec.Flow != nil:
			var objectMs int64
			if !rec.Flow.Start.Valid && !rec.Flow.End.Valid {
				if o.Time.IsZero() {
					return nil, fmt.Errorf("ocsf: flow record %d of %s (%s) has no start, end or object time: %w",
						rec.Index, rec.Flow.InterfaceID, rec.Flow.LogStatus, ErrNoTime)
				}
				objectMs = o.Time.UnixMilli()
			}
			r := &sc.net
			if err := fillNetworkActivity(r, rec.Flow, objectMs); err != nil {
				return nil, err
			}
			fillRegion(&r.Cloud, o.Region)
			return r, nil
		case rec.DNS != nil:
			r := &sc.dns
			if err := fillDNSActivity(r, rec.DNS); err != nil {
				return nil, err
			}
			fillRegion(&r.Cloud, o.Region)
			return r, nil
		}
	}
	if rec.Flow != nil && !rec.Flow.Start.Valid && !rec.Flow.End.Valid {
		if o.Time.IsZero() {
			return nil, fmt.Errorf("ocsf: flow record %d of %s (%s) has no start, end or object time: %w",
				rec.Index, rec.Flow.InterfaceID, rec.Flow.LogStatus, ErrNoTime)
		}
		r, err := networkActivityAt(rec.Flow, o.Time.UnixMilli())
		if err != nil {
			return nil, err
		}
		fillRegion(&r.Cloud, o.Region)
		return r, nil
	}
	row, err := FromRecord(rec)
	if err != nil {
		return nil, err
	}
	switch r := row.(type) {
	case *NetworkActivity:
		fillRegion(&r.Cloud, o.Region)
	case *DNSActivity:
		fillRegion(&r.Cloud, o.Region)
	case *APIActivity:
		fillRegion(&r.Cloud, o.Region)
	case *Authentication:
		fillRegion(&r.Cloud, o.Region)
	case *AccountChange:
		fillRegion(&r.Cloud, o.Region)
	}
	return row, nil
}

func fillRegion(c *Cloud, region string) {
	if c.Region == nil && isRegion(region) {
		c.Region = &region
	}
}
