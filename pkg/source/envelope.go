// Package source feeds the worker with objects to process: S3 event notifications received from SQS
// (every envelope S3, SNS, EventBridge and CloudTrail put around them) and listings of objects already in
// the bucket (backfill).
//
// It promises: a message is deleted only after every object it names has been disposed of (durable
// output, or quarantined); a message whose objects are still being worked on keeps its visibility
// extended; a message never started is handed back to the queue at once on shutdown; and the receiver
// never asks SQS for more messages than it has idle capacity for.
package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/logarchive/logarchive/pkg/ack"
)

// ObjectRef is one object announced by a notification: its identity (ack.Ref: Key decoded, Size -1
// and ETag "" when the notification does not say, as in CloudTrail's SNS notice) and what only the
// notification knows.
type ObjectRef struct {
	ack.Ref
	// RawKey is the key as the notification spelt it (URL-encoded for S3 and, presumably,
	// EventBridge notifications; plain for CloudTrail's SNS notice).
	RawKey    string
	Sequencer string
	EventTime time.Time // when S3 (or CloudTrail) announced the object; zero when unknown
}

// MaxKeyBytes is the longest object key S3 accepts: a longer one cannot name an object, so a
// notification announcing it is malformed (it would otherwise be retried until its redrive).
const MaxKeyBytes = 1024

// Kind says what a message asks the worker to do.
type Kind int

const (
	// KindObjects: process Objects (which may be empty when every record was a removal).
	KindObjects Kind = iota
	// KindTest: S3's s3:TestEvent, sent when a notification configuration is saved; delete it.
	KindTest
	// KindControl: an SNS SubscriptionConfirmation or UnsubscribeConfirmation; log and delete.
	KindControl
)

func (k Kind) String() string {
	switch k {
	case KindObjects:
		return "objects"
	case KindTest:
		return "test_event"
	case KindControl:
		return "sns_control"
	}
	return "unknown"
}

// Notification is one decoded SQS message body.
type Notification struct {
	Kind Kind
	// Envelope names the shapes peeled off, outermost first: "s3", "sns/s3", "eventbridge",
	// "sns/cloudtrail", "cloudtrail", "s3-test", "sns/s3-test", "sns-control".
	Envelope string
	Objects  []ObjectRef
	// Ignored counts records that announce something other than a new object (removals, restores,
	// tagging, lifecycle transitions…) and records repeated within the message.
	Ignored int
}

// MalformedError says why a message body is not a notification this package understands. Such a
// message cannot succeed on redelivery; the worker moves it aside (see Worker).
type MalformedError struct {
	Envelope string // the shapes recognised before the failure ("" for the outermost)
	Reason   string
	Err      error // the JSON error, when there is one
}

func (e *MalformedError) Error() string {
	where := "message body"
	if e.Envelope != "" {
		where = e.Envelope + " message"
	}
	if e.Err != nil {
		return fmt.Sprintf("malformed %s: %s: %v", where, e.Reason, e.Err)
	}
	return fmt.Sprintf("malformed %s: %s", where, e.Reason)
}

func (e *MalformedError) Unwrap() error { return e.Err }

// maxDepth bounds envelope nesting: SNS around S3 is the deepest AWS goes; more is hostile input.
const maxDepth = 2

// ParseMessage decodes an SQS message body. Bodies it does not recognise, and recognised shapes that
// lack what they need (a bucket, a key), yield a *MalformedError.
func ParseMessage(body []byte) (Notification, error) {
	n, err := parseBody(body, "", 0)
	if err != nil {
		return Notification{}, err
	}
	n.Objects, n.Ignored = dedupe(n.Objects, n.Ignored)
	return n, nil
}

// probe holds the top-level members that tell the shapes apart; all are optional.
type probe struct {
	Records json.RawMessage `json:"Records"`

	Event   string `json:"Event"`
	Service string `json:"Service"`

	Type     string  `json:"Type"`
	TopicArn string  `json:"TopicArn"`
	Message  *string `json:"Message"`

	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
	Time       string          `json:"time"`

	S3Bucket    *string         `json:"s3Bucket"`
	S3ObjectKey json.RawMessage `json:"s3ObjectKey"`
}

func join(outer, inner string) string {
	if outer == "" {
		return inner
	}
	return outer + "/" + inner
}

func parseBody(body []byte, outer string, depth int) (Notification, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return Notification{}, &MalformedError{Envelope: outer, Reason: "empty body"}
	}
	if body[0] != '{' {
		return Notification{}, &MalformedError{Envelope: outer, Reason: "body is not a JSON object"}
	}
	var p probe
	if err := json.Unmarshal(body, &p); err != nil {
		return Notification{}, &MalformedError{Envelope: outer, Reason: "invalid JSON", Err: err}
	}
	switch {
	case p.Records != nil:
		return parseS3Records(p.Records, join(outer, "s3"))
	case p.Event == "s3:TestEvent":
		return Notification{Kind: KindTest, Envelope: join(outer, "s3-test")}, nil
	case p.Type != "" && p.TopicArn != "":
		return parseSNS(p, outer, depth)
	case p.Source == "aws.s3" && p.DetailType != "":
		return parseEventBridge(p, join(outer, "eventbridge"))
	case p.S3Bucket != nil || p.S3ObjectKey != nil:
		return parseCloudTrailNotice(p, join(outer, "cloudtrail"))
	}
	return Notification{}, &MalformedError{Envelope: outer,
		Reason: "not an S3, SNS, EventBridge or CloudTrail notification (no Records, Event, Type/TopicArn, source or s3ObjectKey)"}
}

func parseSNS(p probe, outer string, depth int) (Notification, error) {
	env := join(outer, "sns")
	switch p.Type {
	case "Notification":
	case "SubscriptionConfirmation", "UnsubscribeConfirmation":
		return Notification{Kind: KindControl, Envelope: join(outer, "sns-control")}, nil
	default:
		return Notification{}, &MalformedError{Envelope: env, Reason: fmt.Sprintf("unknown SNS Type %q", p.Type)}
	}
	if p.Message == nil {
		return Notification{}, &MalformedError{Envelope: env, Reason: "SNS notification has no Message"}
	}
	if depth+1 >= maxDepth {
		return Notification{}, &MalformedError{Envelope: env, Reason: "SNS envelope nested in another envelope"}
	}
	inner, err := parseBody([]byte(*p.Message), env, depth+1)
	if err != nil {
		return Notification{}, err
	}
	return inner, nil
}

type s3Record struct {
	EventVersion string `json:"eventVersion"`
	EventSource  string `json:"eventSource"`
	EventTime    string `json:"eventTime"`
	EventName    string `json:"eventName"`
	S3           *struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key       *string          `json:"key"`
			Size      *json.RawMessage `json:"size"`
			ETag      string           `json:"eTag"`
			VersionID string           `json:"versionId"`
			Sequencer string           `json:"sequencer"`
		} `json:"object"`
	} `json:"s3"`
}

func parseS3Records(raw json.RawMessage, env string) (Notification, error) {
	var recs []s3Record
	if err := json.Unmarshal(raw, &recs); err != nil {
		return Notification{}, &MalformedError{Envelope: env, Reason: "Records is not an array of S3 event records", Err: err}
	}
	n := Notification{Kind: KindObjects, Envelope: env}
	for i, r := range recs {
		if r.EventSource != "aws:s3" {
			return Notification{}, &MalformedError{Envelope: env, Reason: fmt.Sprintf("Records[%d].eventSource is %q, want aws:s3", i, r.EventSource)}
		}
		if major, _, _ := strings.Cut(r.EventVersion, "."); major != "2" {
			return Notification{}, &MalformedError{Envelope: env, Reason: fmt.Sprintf("Records[%d].eventVersion %q is not 2.x", i, r.EventVersion)}
		}
		if !strings.HasPrefix(strings.TrimPrefix(r.EventName, "s3:"), "ObjectCreated:") {
			n.Ignored++
			continue
		}
		if r.S3 == nil || r.S3.Bucket.Name == "" || r.S3.Object.Key == nil || *r.S3.Object.Key == "" {
			return Notification{}, &MalformedError{Envelope: env, Reason: fmt.Sprintf("Records[%d] has no s3.bucket.name or s3.object.key", i)}
		}
		key, err := url.QueryUnescape(*r.S3.Object.Key)
		if err != nil {
			return Notification{}, &MalformedError{Envelope: env, Reason: fmt.Sprintf("Records[%d].s3.object.key is not form-encoded", i), Err: err}
		}
		size, err := parseSize(r.S3.Object.Size)
		if err != nil {
			return Notification{}, &MalformedError{Envelope: env, Reason: fmt.Sprintf("Records[%d].s3.object.size", i), Err: err}
		}
		if len(key) > MaxKeyBytes {
			return Notification{}, &MalformedError{Envelope: env, Reason: fmt.Sprintf("Records[%d].s3.object.key is %d bytes, longer than any S3 key (%d)", i, len(key), MaxKeyBytes)}
		}
		n.Objects = append(n.Objects, ObjectRef{Ref: ack.Ref{Bucket: r.S3.Bucket.Name, Key: key,
			Size: size, ETag: ack.NormalizeETag(r.S3.Object.ETag), VersionID: r.S3.Object.VersionID}, RawKey: *r.S3.Object.Key,
			Sequencer: r.S3.Object.Sequencer, EventTime: parseTime(r.EventTime)})
	}
	return n, nil
}

func parseSize(raw *json.RawMessage) (int64, error) {
	if raw == nil || string(*raw) == "null" {
		return -1, nil
	}
	var v int64
	if err := json.Unmarshal(*raw, &v); err != nil {
		return -1, err
	}
	if v < 0 {
		return -1, errors.New("negative size")
	}
	return v, nil
}

type ebDetail struct {
	Bucket struct {
		Name string `json:"name"`
	} `json:"bucket"`
	Object struct {
		Key       *string          `json:"key"`
		Size      *json.RawMessage `json:"size"`
		ETag      string           `json:"etag"`
		VersionID string           `json:"version-id"`
		Sequencer string           `json:"sequencer"`
	} `json:"object"`
}

func parseEventBridge(p probe, env string) (Notification, error) {
	if p.DetailType != "Object Created" {
		return Notification{Kind: KindObjects, Envelope: env, Ignored: 1}, nil
	}
	var d ebDetail
	if len(p.Detail) == 0 {
		return Notification{}, &MalformedError{Envelope: env, Reason: "Object Created event has no detail"}
	}
	if err := json.Unmarshal(p.Detail, &d); err != nil {
		return Notification{}, &MalformedError{Envelope: env, Reason: "detail is not an S3 object event", Err: err}
	}
	if d.Bucket.Name == "" || d.Object.Key == nil || *d.Object.Key == "" {
		return Notification{}, &MalformedError{Envelope: env, Reason: "detail has no bucket.name or object.key"}
	}
	// EventBridge's key encoding is undocumented; decode as S3 does (a key with no % or + is unchanged).
	key, err := url.QueryUnescape(*d.Object.Key)
	if err != nil {
		key = *d.Object.Key
	}
	size, err := parseSize(d.Object.Size)
	if err != nil {
		return Notification{}, &MalformedError{Envelope: env, Reason: "detail.object.size", Err: err}
	}
	if len(key) > MaxKeyBytes {
		return Notification{}, &MalformedError{Envelope: env, Reason: fmt.Sprintf("detail.object.key is %d bytes, longer than any S3 key (%d)", len(key), MaxKeyBytes)}
	}
	return Notification{Kind: KindObjects, Envelope: env, Objects: []ObjectRef{{Ref: ack.Ref{Bucket: d.Bucket.Name, Key: key,
		Size: size, ETag: ack.NormalizeETag(d.Object.ETag), VersionID: d.Object.VersionID}, RawKey: *d.Object.Key,
		Sequencer: d.Object.Sequencer, EventTime: parseTime(p.Time)}}}, nil
}

func parseCloudTrailNotice(p probe, env string) (Notification, error) {
	if p.S3Bucket == nil || *p.S3Bucket == "" {
		return Notification{}, &MalformedError{Envelope: env, Reason: "CloudTrail notice has no s3Bucket"}
	}
	var keys []string
	if err := json.Unmarshal(p.S3ObjectKey, &keys); err != nil {
		return Notification{}, &MalformedError{Envelope: env, Reason: "s3ObjectKey is not an array of strings", Err: err}
	}
	if len(keys) == 0 {
		return Notification{}, &MalformedError{Envelope: env, Reason: "s3ObjectKey is empty"}
	}
	n := Notification{Kind: KindObjects, Envelope: env}
	for i, k := range keys {
		if k == "" {
			return Notification{}, &MalformedError{Envelope: env, Reason: fmt.Sprintf("s3ObjectKey[%d] is empty", i)}
		}
		if len(k) > MaxKeyBytes {
			return Notification{}, &MalformedError{Envelope: env, Reason: fmt.Sprintf("s3ObjectKey[%d] is %d bytes, longer than any S3 key (%d)", i, len(k), MaxKeyBytes)}
		}
		// CloudTrail lists plain keys: decoding them would turn a literal '+' into a space.
		n.Objects = append(n.Objects, ObjectRef{Ref: ack.Ref{Bucket: *p.S3Bucket, Key: k, Size: -1}, RawKey: k})
	}
	return n, nil
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		// Without a zone (as moto_server writes it) the time is UTC, as every S3 event time is.
		if t, err = time.Parse("2006-01-02T15:04:05.999999999", s); err != nil {
			return time.Time{}
		}
	}
	return t.UTC()
}

// Identity is what makes two announcements the same object: bucket, key and ETag (a rewritten object
// has a new ETag and is new work). The version id is left out: not every announcement carries it
// (CloudTrail's SNS notice, backfill listings), and two versions with one ETag hold the same bytes.
type Identity struct {
	Bucket, Key, ETag string
}

// Identity returns the identity of r.
func (r ObjectRef) Identity() Identity { return Identity{Bucket: r.Bucket, Key: r.Key, ETag: r.ETag} }

func dedupe(objs []ObjectRef, ignored int) ([]ObjectRef, int) {
	if len(objs) < 2 {
		return objs, ignored
	}
	seen := make(map[Identity]bool, len(objs))
	out := objs[:0]
	for _, o := range objs {
		if seen[o.Identity()] {
			ignored++
			continue
		}
		seen[o.Identity()] = true
		out = append(out, o)
	}
	return out, ignored
}
