package parse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/logarchive/logarchive/internal/samples"
)

// Fuzz limits keep every run's memory bounded whatever the input inflates to.
var fuzzOpts = Options{MaxInflatedBytes: 4 << 20, MaxRecordBytes: 256 << 10, MaxBadRecordErrors: 8}

// fuzzDrain runs a decoder to its end, checking what every decoder promises: no panic, a bounded
// number of records, an *Error or io.EOF at the end, and Raw within the record limit.
func fuzzDrain(t *testing.T, dec Decoder, check func(rec *Record)) error {
	var rec Record
	for i := 0; ; i++ {
		err := dec.Next(&rec)
		if err != nil {
			if err != io.EOF {
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("error is not an *Error: %v", err)
				}
				if again := dec.Next(&rec); again != err {
					t.Fatalf("error not sticky: %v then %v", err, again)
				}
			}
			return err
		}
		if i > int(fuzzOpts.MaxInflatedBytes) {
			t.Fatalf("more records than input bytes")
		}
		if len(rec.Raw) > fuzzOpts.MaxRecordBytes {
			t.Fatalf("record of %d bytes past the limit", len(rec.Raw))
		}
		if check != nil {
			check(&rec)
		}
	}
}

func addSeeds(f *testing.F, paths ...string) {
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}
}

func sampleGlob(f *testing.F, elem ...string) []string {
	m, _ := filepath.Glob(samples.Samples(f, elem...))
	return m
}

func FuzzCloudTrail(f *testing.F) {
	addSeeds(f, sampleGlob(f, "cloudtrail", "awsdocs", "*.json")...)
	addSeeds(f, sampleGlob(f, "cloudtrail", "invictus-ir-aws_dataset", "*1205Z_lKy08gyrqqRJyzsn.json")...)
	f.Add([]byte(`{"Records":[{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","userIdentity":{"type":"Root","sessionContext":{"attributes":{"mfaAuthenticated":"true"}}},"resources":[{"ARN":"a"}],"readOnly":true,"requestParameters":{"a":[1,2.5e3,null,"\u00e9\ud83d\ude00"]}}]}`))
	f.Add([]byte(`{"Records":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec, err := NewDecoder(Object{Bucket: "b", Key: "k", Source: SourceCloudTrail}, bytes.NewReader(data), fuzzOpts)
		if err != nil {
			return
		}
		err = fuzzDrain(t, dec, func(rec *Record) {
			if rec.CloudTrail == nil || !json.Valid(rec.Raw) {
				t.Fatalf("record %d: Raw is not JSON: %q", rec.Index, rec.Raw)
			}
			for _, m := range []json.RawMessage{rec.CloudTrail.RequestParameters, rec.CloudTrail.ResponseElements, rec.CloudTrail.AdditionalEvent} {
				if m != nil && !json.Valid(m) {
					t.Fatalf("free-form member is not JSON: %q", m)
				}
			}
		})
		// A document the decoder reads to the end is valid JSON.
		if err == io.EOF && data[0] != 0x1f && !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
	})
}

func FuzzVPCFlowText(f *testing.F) {
	addSeeds(f, sampleGlob(f, "vpcflow", "*", "*.log")...)
	f.Add([]byte("version srcaddr dstport unknown-field\n2 10.0.0.1 80 x\n2 - - -\n\n2 1 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec, err := NewDecoder(Object{Bucket: "b", Key: "k", Source: SourceVPCFlow}, bytes.NewReader(data), fuzzOpts)
		if err != nil {
			return
		}
		fuzzDrain(t, dec, func(rec *Record) {
			if rec.Flow == nil || bytes.IndexByte(rec.Raw, '\n') >= 0 {
				t.Fatalf("record %d: %q", rec.Index, rec.Raw)
			}
		})
	})
}

func FuzzResolver(f *testing.F) {
	addSeeds(f, sampleGlob(f, "route53-resolver", "awsdocs", "*.json")...)
	f.Add([]byte(`{"version":"1.100000","srcport":"53","answers":[{"Rdata":"x","Type":"A","Class":"IN"}],"srcids":{},"x":{"y":[]}}` + "\n" + `{"query_timestamp":"2021-02-04T17:51:55.123Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec, err := NewDecoder(Object{Bucket: "b", Key: "k", Source: SourceResolver}, bytes.NewReader(data), fuzzOpts)
		if err != nil {
			return
		}
		fuzzDrain(t, dec, func(rec *Record) {
			if rec.DNS == nil || !json.Valid(rec.Raw) {
				t.Fatalf("record %d: Raw is not JSON: %q", rec.Index, rec.Raw)
			}
			if rec.DNS.Unmapped != nil && !json.Valid(rec.DNS.Unmapped) {
				t.Fatalf("Unmapped is not JSON: %q", rec.DNS.Unmapped)
			}
		})
	})
}

// FuzzNewDecoder feeds arbitrary bytes, gzip or not, under every kind of key.
func FuzzNewDecoder(f *testing.F) {
	addSeeds(f, sampleGlob(f, "cloudtrail", "aws-samples-ocsf-validation", "*", "*.test.gz")...)
	addSeeds(f, sampleGlob(f, "route53-resolver", "*", "*")...)
	addSeeds(f, sampleGlob(f, "vpcflow", "*", "*")...)
	f.Add(gz(f, []byte(`{"Records":[{"eventName":"x"}]}`)))
	keys := []string{
		"AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/f.json.gz",
		"AWSLogs/111122223333/vpcflowlogs/us-east-1/2024/01/01/f.log.gz",
		"AWSLogs/111122223333/vpcdnsquerylogs/vpc-1/2024/01/01/f.log.gz",
		"elsewhere/f",
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// One Decoders, records reused, across all the keys: whatever one object leaves behind must
		// not change what the next yields.
		ds := Decoders{ReuseRecords: true}
		for _, k := range keys {
			dec, err := NewDecoder(Classify("b", k), bytes.NewReader(data), fuzzOpts)
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("NewDecoder error is not an *Error: %v", err)
				}
			} else {
				fuzzDrain(t, dec, nil)
			}
			want, werr := drain(NewDecoder(Classify("b", k), bytes.NewReader(data), fuzzOpts))
			rdec, rerr := ds.New(Classify("b", k), bytes.NewReader(data), fuzzOpts)
			if rdec != nil {
				rdec = owning{rdec}
			}
			got, gerr := drain(rdec, rerr)
			if fmt.Sprint(gerr) != fmt.Sprint(werr) || !reflect.DeepEqual(got, want) {
				t.Fatalf("key %s: reused decoder: %d records, error %v; fresh: %d records, error %v",
					k, len(got.recs), gerr, len(want.recs), werr)
			}
		}
	})
}
