package source

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logarchive/logarchive/internal/samples"
)

// lambdaSQSBody extracts Records[0].body from a Lambda SQS event: that string is exactly the SQS
// message body the queue holds.
func lambdaSQSBody(t *testing.T, raw []byte) []byte {
	t.Helper()
	var ev struct {
		Records []struct {
			Body string `json:"body"`
		}
	}
	if err := json.Unmarshal(raw, &ev); err != nil || len(ev.Records) == 0 {
		t.Fatalf("not a Lambda SQS event: %v", err)
	}
	return []byte(ev.Records[0].Body)
}

// wrapSNS puts a payload in an SNS envelope the way SNS delivers it to SQS without raw delivery.
func wrapSNS(t *testing.T, payload []byte) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]string{"Type": "Notification", "MessageId": "m-1",
		"TopicArn": "arn:aws:sns:us-east-1:111122223333:t", "Message": string(payload),
		"Timestamp": "2026-01-01T00:00:00.000Z", "SignatureVersion": "1"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseMessageSamples(t *testing.T) {
	dir := samples.Samples(t, "notifications")
	const ctKey = "AWSLogs/111111111111/CloudTrail/eu-west-2/2022/02/21/111111111111_CloudTrail_eu-west-2_20220221T1020Z_nTGkKkyO0OcwEIvv.json.gz"
	tests := []struct {
		file       string
		lambdaSQS  bool // the file is a Lambda SQS event; the SQS body is Records[0].body
		snsWrap    bool // wrap the file in an SNS envelope (raw delivery off)
		kind       Kind
		envelope   string
		malformed  bool
		wantBucket string
		wantKeys   []string
		wantSize   int64
		wantETag   string
		ignored    int
	}{
		{file: "powertools-lambda-python/s3Event.json", kind: KindObjects, envelope: "s3",
			wantBucket: "lambda-artifacts-deafc19498e3f2df", wantKeys: []string{"b21b84d653bb07b05b1e6b33684dc11b"},
			wantSize: 1305107, wantETag: "b21b84d653bb07b05b1e6b33684dc11b"},
		{file: "powertools-lambda-python/s3SqsEvent.json", lambdaSQS: true, kind: KindObjects, envelope: "s3",
			wantBucket: "xxx", wantKeys: []string{"test.pdf"}, wantSize: 104681, wantETag: "2e3ad1e983318bbd8e73b080e2997980"},
		// The SNS message here is a generic JSON payload, not an S3 event: nothing to process.
		{file: "powertools-lambda-python/snsSqsEvent.json", lambdaSQS: true, malformed: true},
		{file: "powertools-lambda-python/s3EventBridgeNotificationObjectCreatedEvent.json", kind: KindObjects,
			envelope: "eventbridge", wantBucket: "example-bucket", wantKeys: []string{"IMG_m7fzo3.jpg"},
			wantSize: 184662, wantETag: "4e68adba0abe2dc8653dc3354e14c01d"},
		{file: "powertools-lambda-python/s3EventBridgeNotificationObjectDeletedEvent.json", kind: KindObjects,
			envelope: "eventbridge", ignored: 1},
		{file: "aws-lambda-go/s3-event.json", kind: KindObjects, envelope: "s3", wantBucket: "sourcebucket",
			wantKeys: []string{"Happy Face.jpg"}, wantSize: 1024, wantETag: "d41d8cd98f00b204e9800998ecf8427e"},
		// The same key twice: one object, one duplicate counted as ignored.
		{file: "aws-cloudtrail-processing-library/SQSMessageBody", kind: KindObjects, envelope: "sns/cloudtrail",
			wantBucket: "my-test-bucket", wantSize: -1, ignored: 1,
			wantKeys: []string{"myprefix/AWSLogs/123456789012/CloudTrail/us-east-1/2014/03/09/123456789012_CloudTrail_us-east-1_20140309T2015Z_996mpJdKNLd1Yvzl.json.gz"}},
		{file: "aws-cloudtrail-processing-library/SQSMessageBodyWrongFormat", malformed: true},
		{file: "awsdocs/cloudtrail-sns-message-single.json", kind: KindObjects, envelope: "cloudtrail",
			wantBucket: "your-bucket-name", wantSize: -1,
			wantKeys: []string{"AWSLogs/123456789012/CloudTrail/us-east-2/2013/12/13/123456789012_CloudTrail_us-west-2_20131213T1920Z_LnPgDQnpkSKEsppV.json.gz"}},
		{file: "awsdocs/cloudtrail-sns-message-multiple.json", snsWrap: true, kind: KindObjects, envelope: "sns/cloudtrail",
			wantBucket: "your-bucket-name", wantSize: -1, wantKeys: []string{
				"AWSLogs/123456789012/CloudTrail/us-east-2/2016/08/11/123456789012_CloudTrail_us-east-2_20160811T2215Z_kpaMYavMQA9Ahp7L.json.gz",
				"AWSLogs/123456789012/CloudTrail/us-east-2/2016/08/11/123456789012_CloudTrail_us-east-2_20160811T2210Z_zqDkyQv3TK8ZdLr0.json.gz",
				"AWSLogs/123456789012/CloudTrail/us-east-2/2016/08/11/123456789012_CloudTrail_us-east-2_20160811T2205Z_jaMVRa6JfdLCJYHP.json.gz"}},
		{file: "awsdocs/eventbridge-s3-object-created.json", kind: KindObjects, envelope: "eventbridge",
			wantBucket: "DOC-EXAMPLE-BUCKET1", wantKeys: []string{"example-key"}, wantSize: 5, wantETag: "b1946ac92492d2347c6235b4d2611184"},
		{file: "awsdocs/s3-event-put-example.json", kind: KindObjects, envelope: "s3", wantBucket: "mybucket",
			wantKeys: []string{"HappyFace.jpg"}, wantSize: 1024, wantETag: "d41d8cd98f00b204e9800998ecf8427e"},
		{file: "awsdocs/s3-event-put-example.json", snsWrap: true, kind: KindObjects, envelope: "sns/s3", wantBucket: "mybucket",
			wantKeys: []string{"HappyFace.jpg"}, wantSize: 1024, wantETag: "d41d8cd98f00b204e9800998ecf8427e"},
		{file: "awsdocs/s3-test-event.json", kind: KindTest, envelope: "s3-test"},
		{file: "awsdocs/s3-test-event.json", snsWrap: true, kind: KindTest, envelope: "sns/s3-test"},
		{file: "sekoia-automation-library/s3-test-event.json", kind: KindTest, envelope: "s3-test"},
		{file: "sekoia-automation-library/s3-event-cloudtrail-20220221T1020Z.json", kind: KindObjects, envelope: "s3",
			wantBucket: "aws-cloudtrail-111111111111-3abc4c4f", wantKeys: []string{ctKey}, wantSize: 9234, wantETag: "0cdef8885755dff42b6fbd91732ae506"},
		{file: "sekoia-automation-library/s3-event-cloudtrail-20220221T1055Z.json", kind: KindObjects, envelope: "s3",
			wantBucket: "aws-cloudtrail-111111111111-3abc4c4f", wantSize: 1084, wantETag: "54a88e9fdedaeda828710cd3ad23a83c",
			wantKeys: []string{"AWSLogs/111111111111/CloudTrail/eu-west-2/2022/02/21/111111111111_CloudTrail_eu-west-2_20220221T1055Z_YhegGgxhib9WTAx8.json.gz"}},
	}
	covered := map[string]bool{}
	for _, tc := range tests {
		name := tc.file
		if tc.snsWrap {
			name += "+sns"
		}
		t.Run(name, func(t *testing.T) {
			covered[tc.file] = true
			raw, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if tc.lambdaSQS {
				raw = lambdaSQSBody(t, raw)
			}
			if tc.snsWrap {
				raw = wrapSNS(t, raw)
			}
			n, err := ParseMessage(raw)
			if tc.malformed {
				var me *MalformedError
				if !errors.As(err, &me) {
					t.Fatalf("want *MalformedError, got %v (%+v)", err, n)
				}
				if me.Reason == "" {
					t.Fatal("MalformedError without a reason")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n.Kind != tc.kind || n.Envelope != tc.envelope || n.Ignored != tc.ignored {
				t.Fatalf("kind %v envelope %q ignored %d, want %v %q %d", n.Kind, n.Envelope, n.Ignored, tc.kind, tc.envelope, tc.ignored)
			}
			if len(n.Objects) != len(tc.wantKeys) {
				t.Fatalf("%d objects, want %d: %+v", len(n.Objects), len(tc.wantKeys), n.Objects)
			}
			for i, o := range n.Objects {
				if o.Bucket != tc.wantBucket || o.Key != tc.wantKeys[i] || o.Size != tc.wantSize || o.ETag != tc.wantETag {
					t.Errorf("object %d = %+v, want bucket %q key %q size %d etag %q", i, o, tc.wantBucket, tc.wantKeys[i], tc.wantSize, tc.wantETag)
				}
			}
		})
	}
	// Every sample in the directory must be in the table.
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".md") {
			rel, _ := filepath.Rel(dir, p)
			if !covered[filepath.ToSlash(rel)] {
				t.Errorf("sample %s has no test case", rel)
			}
		}
		return nil
	})
}

func TestParseMessageKeysAndShapes(t *testing.T) {
	s3Body := func(eventName, key string) string {
		return `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventTime":"2026-05-01T10:00:00.123Z","eventName":"` +
			eventName + `","s3":{"bucket":{"name":"b"},"object":{"key":"` + key + `","size":10,"eTag":"e"}}}]}`
	}
	tests := []struct {
		name      string
		body      string
		wantKeys  []string
		ignored   int
		malformed bool
	}{
		{"plus is space", s3Body("ObjectCreated:Put", "a+b.json"), []string{"a b.json"}, 0, false},
		{"encoded plus and equals", s3Body("ObjectCreated:Put", "AWSLogs/aws-account-id%3D1/x%2By.log.gz"), []string{"AWSLogs/aws-account-id=1/x+y.log.gz"}, 0, false},
		{"slash kept", s3Body("ObjectCreated:CompleteMultipartUpload", "a/b/c"), []string{"a/b/c"}, 0, false},
		{"removal ignored", s3Body("ObjectRemoved:Delete", "a"), nil, 1, false},
		{"lifecycle ignored", s3Body("LifecycleExpiration:Delete", "a"), nil, 1, false},
		{"bad escape", s3Body("ObjectCreated:Put", "a%zz"), nil, 0, true},
		{"empty key", s3Body("ObjectCreated:Put", ""), nil, 0, true},
		// S3 keys are at most 1,024 bytes: a longer one names no object and could only be retried.
		{"key of 1024 bytes", s3Body("ObjectCreated:Put", strings.Repeat("k", 1024)), []string{strings.Repeat("k", 1024)}, 0, false},
		{"key over 1024 bytes", s3Body("ObjectCreated:Put", strings.Repeat("k", 1025)), nil, 0, true},
		{"encoded key over 1024 bytes decoded", s3Body("ObjectCreated:Put", strings.Repeat("%C3%A9", 513)), nil, 0, true},
		{"cloudtrail key over 1024 bytes", `{"s3Bucket":"b","s3ObjectKey":["` + strings.Repeat("k", 1025) + `"]}`, nil, 0, true},
		{"eventbridge key over 1024 bytes", `{"source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"b"},"object":{"key":"` + strings.Repeat("k", 1025) + `"}}}`, nil, 0, true},
		{"not s3", `{"Records":[{"eventSource":"aws:kinesis","eventVersion":"1.0"}]}`, nil, 0, true},
		{"event version 3", `{"Records":[{"eventSource":"aws:s3","eventVersion":"3.0","eventName":"ObjectCreated:Put"}]}`, nil, 0, true},
		{"records not array", `{"Records":{}}`, nil, 0, true},
		{"truncated", `{"Records":[`, nil, 0, true},
		{"not an object", `[1,2]`, nil, 0, true},
		{"empty", ``, nil, 0, true},
		{"unknown object", `{"hello":"world"}`, nil, 0, true},
		{"cloudtrail keys not decoded", `{"s3Bucket":"b","s3ObjectKey":["a+b%2B"]}`, []string{"a+b%2B"}, 0, false},
		{"cloudtrail no keys", `{"s3Bucket":"b","s3ObjectKey":[]}`, nil, 0, true},
		{"cloudtrail no bucket", `{"s3ObjectKey":["k"]}`, nil, 0, true},
		{"sns without message", `{"Type":"Notification","TopicArn":"arn"}`, nil, 0, true},
		{"sns in sns", `{"Type":"Notification","TopicArn":"arn","Message":"{\"Type\":\"Notification\",\"TopicArn\":\"a\",\"Message\":\"{}\"}"}`, nil, 0, true},
		{"eventbridge no key", `{"source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"b"},"object":{}}}`, nil, 0, true},
		{"eventbridge restore ignored", `{"source":"aws.s3","detail-type":"Object Restore Completed","detail":{}}`, nil, 1, false},
		{"two records same object", `{"Records":[` + strings.Repeat(`{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k","eTag":"e"}}},`, 2) +
			`{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k2","eTag":"e"}}}]}`, []string{"k", "k2"}, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ParseMessage([]byte(tc.body))
			if tc.malformed {
				var me *MalformedError
				if !errors.As(err, &me) {
					t.Fatalf("want *MalformedError, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, o := range n.Objects {
				keys = append(keys, o.Key)
			}
			if strings.Join(keys, "|") != strings.Join(tc.wantKeys, "|") || n.Ignored != tc.ignored {
				t.Fatalf("keys %q ignored %d, want %q %d", keys, n.Ignored, tc.wantKeys, tc.ignored)
			}
		})
	}
}

func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"a+b%2B","size":3,"eTag":"e"}}}]}`))
	f.Add([]byte(`{"Type":"Notification","TopicArn":"a","Message":"{\"s3Bucket\":\"b\",\"s3ObjectKey\":[\"k\"]}"}`))
	f.Add([]byte(`{"source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"b"},"object":{"key":"k"}}}`))
	f.Add([]byte(`{"Service":"Amazon S3","Event":"s3:TestEvent"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := ParseMessage(body)
		if err != nil {
			var me *MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("error is not a *MalformedError: %v", err)
			}
			return
		}
		seen := map[Identity]bool{}
		for _, o := range n.Objects {
			if o.Bucket == "" || o.Key == "" {
				t.Fatalf("object without bucket or key: %+v", o)
			}
			if seen[o.Identity()] {
				t.Fatalf("duplicate object %+v", o)
			}
			seen[o.Identity()] = true
		}
	})
}

// BenchmarkParseMessage decodes the sample bodies a queue sees; the baseline decodes the same bodies
// into map[string]any (what a generic JSON walk costs before any classification).
func BenchmarkParseMessage(b *testing.B) {
	dir := samples.Samples(b, "notifications")
	var bodies [][]byte
	for _, f := range []string{"sekoia-automation-library/s3-event-cloudtrail-20220221T1020Z.json",
		"aws-cloudtrail-processing-library/SQSMessageBody", "awsdocs/eventbridge-s3-object-created.json"} {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, raw)
	}
	var total int64
	for _, body := range bodies {
		total += int64(len(body))
	}
	run := func(b *testing.B, fn func([]byte) error) {
		b.SetBytes(total)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			for _, body := range bodies {
				if err := fn(body); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*len(bodies))/b.Elapsed().Seconds(), "msgs/s")
	}
	b.Run("baseline-map", func(b *testing.B) {
		run(b, func(body []byte) error { var m map[string]any; return json.Unmarshal(body, &m) })
	})
	b.Run("ParseMessage", func(b *testing.B) {
		run(b, func(body []byte) error { _, err := ParseMessage(body); return err })
	})
}
