package parse

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/logarchive/logarchive/internal/samples"
)

// reuseCase is one object for TestDecodersReuse: real samples, each also gzipped, and inputs that
// leave a decoder in every kind of end state (corrupt gzip, truncation, a record past the limit, a
// record that grows the window, bad records, invalid UTF-8).
type reuseCase struct {
	name string
	obj  Object
	data []byte
}

func reuseCases(t *testing.T) []reuseCase {
	t.Helper()
	var cases []reuseCase
	add := func(name string, obj Object, data []byte) {
		obj.Bucket, obj.Key = "b", name
		cases = append(cases, reuseCase{name, obj, data}, reuseCase{name + ".gz", obj, gz(t, data)})
	}
	for _, dir := range []string{"cloudtrail/awsdocs", "cloudtrail/invictus-ir-aws_dataset", "route53-resolver/awsdocs",
		"route53-resolver/aws-samples-ocsf-validation", "vpcflow/awsdocs", "vpcflow/sekoia-automation-library"} {
		files, _ := filepath.Glob(filepath.Join(samples.Samples(t, dir), "*"))
		if len(files) == 0 {
			t.Fatalf("no samples under %s", dir)
		}
		for i, f := range files {
			if i >= 6 {
				break
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
				cases = append(cases, reuseCase{f, Object{Bucket: "b", Key: f}, data})
				continue
			}
			add(f, Object{}, data)
		}
	}
	ct := func(recs ...string) []byte { return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`) }
	big := `{"eventName":"` + strings.Repeat("x", 600<<10) + `"}`
	add("ct-big-record", Object{Source: SourceCloudTrail}, ct(`{"eventName":"a"}`, big, `{"eventName":"b"}`))
	add("ct-too-large", Object{Source: SourceCloudTrail}, ct(`{"eventName":"a"}`, `{"eventName":"`+strings.Repeat("y", 300<<10)+`"}`))
	add("ct-truncated", Object{Source: SourceCloudTrail}, ct(`{"eventName":"a"}`)[:30])
	add("ct-bad-shape", Object{Source: SourceCloudTrail}, ct(`{"eventName":"a"}`, `{"eventTime":"yesterday"}`, `{"userIdentity":"x","eventName":"c\xff"}`))
	add("ct-empty", Object{Source: SourceCloudTrail}, nil)
	add("dns-bad-lines", Object{Source: SourceResolver}, []byte("{\"srcport\":\"x\"}\nnot json\n{\"query_name\":\"a\xfe.\",\"z\":1}\n{\"version\":"))
	// Records with answers one after the other: a reused decoder reuses the answers' array too.
	add("dns-answers", Object{Source: SourceResolver}, []byte(`{"query_name":"a.","answers":[{"Rdata":"1.1.1.1","Type":"A","Class":"IN"},{"Rdata":"1.0.0.1","Type":"A","Class":"IN"}]}`+"\n"+
		`{"query_name":"b.","answers":[{"Rdata":"b.cdn.","Type":"CNAME","Class":"IN"}]}`+"\n"+`{"query_name":"c.","answers":[]}`+"\n"))
	add("flow-bad-lines", Object{Source: SourceVPCFlow}, []byte("version srcaddr dstport odd-field\n2 10.0.0.1 80 q\n2 x\n2 10.0.0.2 http q\n2 10.0.0.\xff 443 -\n"))
	// A line of "-" after full ones, and after a bad line that set some fields before failing: a
	// reused record must not keep the earlier values.
	add("flow-dashes", Object{Source: SourceVPCFlow}, []byte("version srcaddr dstport action\n2 10.0.0.1 80 ACCEPT\n2 - - -\n2 10.0.0.2 x ACCEPT\n2 - 443 -\n"))
	add("flow-no-header", Object{Source: SourceVPCFlow}, []byte("2 10.0.0.1 80\n"))
	add("unknown", Object{}, []byte("hello\n"))
	corrupt := gz(t, ct(`{"eventName":"a"}`, `{"eventName":"b"}`))
	corrupt[len(corrupt)-6] ^= 0xff // the CRC
	cases = append(cases, reuseCase{"ct-bad-crc", Object{Bucket: "b", Key: "k", Source: SourceCloudTrail}, corrupt})
	cases = append(cases, reuseCase{"ct-gzip-cut", Object{Bucket: "b", Key: "k", Source: SourceCloudTrail}, corrupt[:len(corrupt)/2]})
	cases = append(cases, reuseCase{"gzip-header-only", Object{Bucket: "b", Key: "k", Source: SourceCloudTrail}, []byte{0x1f, 0x8b, 8}})
	return cases
}

// TestDecodersReuse decodes objects of every kind one after the other with one Decoders, in several
// orders, and checks each yields exactly what a fresh NewDecoder yields: records, skipped-record
// errors, the final error and the UTF-8 count. Whatever state one object leaves behind must not leak
// into the next.
func TestDecodersReuse(t *testing.T) {
	cases := reuseCases(t)
	opts := Options{MaxRecordBytes: 512 << 10}
	type result struct {
		d     decoded
		err   string
		fixed int64
	}
	run := func(dec Decoder, err error) result {
		var d decoded
		if dec != nil {
			d, err = drain(owning{dec}, err)
		} else {
			d, err = drain(dec, err)
		}
		r := result{d: d}
		if err != nil {
			r.err = err.Error()
		}
		if u, ok := dec.(UTF8Reporter); ok {
			r.fixed = u.InvalidUTF8Records()
		}
		return r
	}
	want := make([]result, len(cases))
	for i, c := range cases {
		want[i] = run(NewDecoder(c.obj, bytes.NewReader(c.data), opts))
	}
	var ds Decoders
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 4; round++ {
		ds.ReuseRecords = round%2 == 1
		order := rng.Perm(len(cases))
		for _, i := range order {
			c := cases[i]
			got := run(ds.New(c.obj, bytes.NewReader(c.data), opts))
			if !reflect.DeepEqual(got, want[i]) {
				t.Fatalf("round %d, %s: reused decoder differs from a fresh one:\n got %s\nwant %s", round, c.name, summary(got.d, got.err), summary(want[i].d, want[i].err))
			}
		}
	}
	var sawRecords, sawErr, sawBad bool
	for _, w := range want {
		sawRecords = sawRecords || len(w.d.recs) > 0
		sawErr = sawErr || w.err != ""
		sawBad = sawBad || w.d.bad > 0
	}
	if !sawRecords || !sawErr || !sawBad {
		t.Fatalf("cases do not cover records (%v), errors (%v) and bad records (%v)", sawRecords, sawErr, sawBad)
	}
}

func summary(d decoded, err string) string {
	return fmt.Sprintf("%d records, %d bad, err %q", len(d.recs), d.bad, err)
}

// owning copies the record structs a decoder may reuse (Decoders.ReuseRecords), as a consumer that
// keeps records must.
type owning struct{ Decoder }

func (o owning) Next(rec *Record) error {
	if err := o.Decoder.Next(rec); err != nil {
		return err
	}
	switch {
	case rec.CloudTrail != nil:
		ev := *rec.CloudTrail
		if ev.UserIdentity != nil {
			ui := *ev.UserIdentity
			if ui.OnBehalfOf != nil {
				obo := *ui.OnBehalfOf
				ui.OnBehalfOf = &obo
			}
			if ui.SessionContext != nil {
				sc := *ui.SessionContext
				if sc.SessionIssuer != nil {
					si := *sc.SessionIssuer
					sc.SessionIssuer = &si
				}
				ui.SessionContext = &sc
			}
			ev.UserIdentity = &ui
		}
		if ev.Addendum != nil {
			a := *ev.Addendum
			ev.Addendum = &a
		}
		if ev.TLSDetails != nil {
			t := *ev.TLSDetails
			ev.TLSDetails = &t
		}
		ev.Resources = slices.Clone(ev.Resources)
		rec.CloudTrail = &ev
	case rec.Flow != nil:
		f := *rec.Flow
		rec.Flow = &f
	case rec.DNS != nil:
		q := *rec.DNS
		q.Answers = slices.Clone(q.Answers)
		rec.DNS = &q
	}
	return nil
}

func (o owning) BadRecords() (int64, []*Error) { return o.Decoder.(BadRecordReporter).BadRecords() }
