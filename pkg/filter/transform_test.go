package filter

import (
	"errors"
	"reflect"
	"testing"
)

func f64(v float64) *float64 { return &v }

// Spec §9 example 15 and §8.3: one sample per event, default for every non-matching event.
func TestTransformDefaultPerEvent(t *testing.T) {
	p := MustCompile(`ERROR`)
	tr, err := NewTransform(p, MetricTransformation{MetricName: "Errors", MetricNamespace: "App", MetricValue: "3", DefaultValue: f64(7)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sum, n, lo, hi float64 = 0, 0, 1e300, -1e300
	for _, msg := range []string{"ERROR", "INFO", "ERROR"} {
		s, ok := tr.Sample([]byte(msg), p.Match([]byte(msg)), SystemFields{})
		if !ok {
			t.Fatalf("%s: no sample", msg)
		}
		sum, n = sum+s.Value, n+1
		lo, hi = min(lo, s.Value), max(hi, s.Value)
	}
	if sum != 13 || n != 3 || lo != 3 || hi != 7 {
		t.Errorf("Sum %v SampleCount %v Min %v Max %v, want 13 3 3 7", sum, n, lo, hi)
	}
}

func TestTransformJSONValues(t *testing.T) {
	p := MustCompile(`{ $.op = "get" }`)
	withDefault, err := NewTransform(p, MetricTransformation{MetricName: "Latency", MetricNamespace: "App", MetricValue: "$.latency", DefaultValue: f64(-1), Unit: "Milliseconds"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	noDefault, err := NewTransform(p, MetricTransformation{MetricName: "Latency", MetricNamespace: "App", MetricValue: "$.latency"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		msg        string
		okD        bool
		valD       float64
		okN        bool
		valN       float64
		defaultHit bool
	}{
		{`{"op":"get","latency":12.5}`, true, 12.5, true, 12.5, false},
		{`{"op":"get","latency":"3"}`, true, 3, true, 3, false},
		{`{"op":"get"}`, true, -1, false, 0, true},                   // missing → default
		{`{"op":"get","latency":null}`, true, -1, false, 0, true},    // null → default
		{`{"op":"get","latency":"slow"}`, false, 0, false, 0, false}, // non-numeric → nothing
		{`{"op":"get","latency":true}`, false, 0, false, 0, false},
		{`{"op":"get","latency":[1]}`, false, 0, false, 0, false},
		{`{"op":"put","latency":5}`, true, -1, false, 0, true}, // no match → default
	}
	for _, c := range cases {
		m := p.Match([]byte(c.msg))
		s, ok := withDefault.Sample([]byte(c.msg), m, SystemFields{})
		if ok != c.okD || (ok && (s.Value != c.valD || s.Default != c.defaultHit)) {
			t.Errorf("with default, %s: %+v %v, want %v %v", c.msg, s, ok, c.valD, c.okD)
		}
		s, ok = noDefault.Sample([]byte(c.msg), m, SystemFields{})
		if ok != c.okN || (ok && s.Value != c.valN) {
			t.Errorf("without default, %s: %+v %v, want %v %v", c.msg, s, ok, c.valN, c.okN)
		}
	}
	if withDefault.Unit() != "Milliseconds" || noDefault.Unit() != "None" {
		t.Errorf("units %q %q", withDefault.Unit(), noDefault.Unit())
	}
}

func TestTransformDimensions(t *testing.T) {
	p := MustCompile(`{ $.eventSource = * }`)
	tr, err := NewTransform(p, MetricTransformation{
		MetricName: "Calls", MetricNamespace: "Org", MetricValue: "1",
		Dimensions: map[string]string{"EventName": "$.eventName", "Source": "$.eventSource"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := tr.Sample([]byte(`{"eventSource":"s3.amazonaws.com","eventName":"GetObject"}`), true, SystemFields{})
	want := []Dimension{{"EventName", "GetObject"}, {"Source", "s3.amazonaws.com"}}
	if !ok || !reflect.DeepEqual(s.Dimensions, want) {
		t.Errorf("dimensions = %+v, want %+v", s.Dimensions, want)
	}
	// Any missing dimension field: published without ordinary dimensions, never a partial set.
	s, ok = tr.Sample([]byte(`{"eventSource":"s3.amazonaws.com"}`), true, SystemFields{})
	if !ok || len(s.Dimensions) != 0 || s.Value != 1 {
		t.Errorf("partial dimensions = %+v %v, want dimensionless 1", s, ok)
	}

	sys, err := NewTransform(p, MetricTransformation{MetricName: "Calls", MetricNamespace: "Org", MetricValue: "1",
		Dimensions: map[string]string{"EventName": "$.eventName"}}, []string{SystemRegion, SystemAccount})
	if err != nil {
		t.Fatal(err)
	}
	s, _ = sys.Sample([]byte(`{"eventSource":"x","eventName":"Y"}`), true, SystemFields{Account: "123456789012", Region: "eu-west-1"})
	want = []Dimension{{SystemAccount, "123456789012"}, {SystemRegion, "eu-west-1"}, {"EventName", "Y"}}
	if !reflect.DeepEqual(s.Dimensions, want) {
		t.Errorf("system dimensions = %+v, want %+v", s.Dimensions, want)
	}
}

func TestTransformSpaceDelimited(t *testing.T) {
	p := MustCompile(`[ip, user, status, size]`)
	tr, err := NewTransform(p, MetricTransformation{MetricName: "Bytes", MetricNamespace: "Web", MetricValue: "$size",
		Dimensions: map[string]string{"Status": "$status", "Who": "$2"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(`10.0.0.1 alice 200 1024`)
	s, ok := tr.Sample(msg, p.Match(msg), SystemFields{})
	// $2 names an unnamed slot or an ellipsis token only; "user" is named, so $2 does not resolve and
	// the sample is published without ordinary dimensions.
	if !ok || s.Value != 1024 || len(s.Dimensions) != 0 {
		t.Errorf("sample = %+v %v, want 1024 without dimensions", s, ok)
	}
	p2 := MustCompile(`[ip, ..., size]`)
	tr2, err := NewTransform(p2, MetricTransformation{MetricName: "Bytes", MetricNamespace: "Web", MetricValue: "$size",
		Dimensions: map[string]string{"Who": "$2"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, ok = tr2.Sample(msg, p2.Match(msg), SystemFields{})
	if !ok || s.Value != 1024 || !reflect.DeepEqual(s.Dimensions, []Dimension{{"Who", "alice"}}) {
		t.Errorf("ellipsis sample = %+v %v", s, ok)
	}
	s, ok = tr2.Sample([]byte(`10.0.0.1 alice 200 big`), true, SystemFields{})
	if ok {
		t.Errorf("non-numeric token published %+v", s)
	}
}

func TestTransformReject(t *testing.T) {
	json := MustCompile(`{ $.a = 1 }`)
	terms := MustCompile(`ERROR`)
	space := MustCompile(`[a, b]`)
	ok := MetricTransformation{MetricName: "m", MetricNamespace: "ns", MetricValue: "1"}
	with := func(f func(*MetricTransformation)) MetricTransformation { m := ok; f(&m); return m }
	cases := []struct {
		name   string
		p      *Pattern
		t      MetricTransformation
		system []string
	}{
		{"wildcard value", json, with(func(m *MetricTransformation) { m.MetricValue = "$.values[*]" }), nil},
		{"dims and default", json, with(func(m *MetricTransformation) {
			m.DefaultValue = f64(0)
			m.Dimensions = map[string]string{"d": "$.a"}
		}), nil},
		{"four dims", json, with(func(m *MetricTransformation) {
			m.Dimensions = map[string]string{"a": "$.a", "b": "$.b", "c": "$.c"}
		}), []string{SystemRegion}},
		{"dims on terms", terms, with(func(m *MetricTransformation) { m.Dimensions = map[string]string{"d": "$.a"} }), nil},
		{"space ref on json", json, with(func(m *MetricTransformation) { m.MetricValue = "$b" }), nil},
		{"json ref on space", space, with(func(m *MetricTransformation) { m.MetricValue = "$.b" }), nil},
		{"ref on terms", terms, with(func(m *MetricTransformation) { m.MetricValue = "$.b" }), nil},
		{"bad unit", json, with(func(m *MetricTransformation) { m.Unit = "Parsecs" }), nil},
		{"bad name", json, with(func(m *MetricTransformation) { m.MetricName = "a:b" }), nil},
		{"empty namespace", json, with(func(m *MetricTransformation) { m.MetricNamespace = "" }), nil},
		{"garbage value", json, with(func(m *MetricTransformation) { m.MetricValue = "one" }), nil},
		{"NaN value", json, with(func(m *MetricTransformation) { m.MetricValue = "NaN" }), nil},
		{"hex value", json, with(func(m *MetricTransformation) { m.MetricValue = "0x10" }), nil},
		{"huge value", json, with(func(m *MetricTransformation) { m.MetricValue = "1e999" }), nil},
		{"bad system field", json, ok, []string{"@aws.partition"}},
	}
	for _, c := range cases {
		_, err := NewTransform(c.p, c.t, c.system)
		var fe *Error
		if !errors.As(err, &fe) || fe.Kind != ErrTransformation {
			t.Errorf("%s: err = %v, want ErrTransformation", c.name, err)
		}
	}
	// Accepted: a selector the pattern never mentions.
	if _, err := NewTransform(json, with(func(m *MetricTransformation) { m.MetricValue = "$.elsewhere" }), nil); err != nil {
		t.Errorf("unmentioned selector: %v", err)
	}
}

// §8.4: system field dimensions go on matching samples; default samples stay dimensionless.
func TestTransformSystemDimsWithDefault(t *testing.T) {
	p := MustCompile(`{ $.eventName = SwitchRole }`)
	tr, err := NewTransform(p, MetricTransformation{MetricName: "m", MetricNamespace: "n", MetricValue: "1", DefaultValue: f64(0)},
		[]string{SystemAccount})
	if err != nil {
		t.Fatal(err)
	}
	sys := SystemFields{Account: "123456789012", Region: "eu-west-1"}
	s, ok := tr.Sample([]byte(`{"eventName":"SwitchRole"}`), true, sys)
	if !ok || s.Value != 1 || len(s.Dimensions) != 1 || s.Dimensions[0] != (Dimension{SystemAccount, "123456789012"}) {
		t.Errorf("matching sample %+v", s)
	}
	s, ok = tr.Sample([]byte(`{"eventName":"Other"}`), false, sys)
	if !ok || s.Value != 0 || len(s.Dimensions) != 0 || !s.Default {
		t.Errorf("default sample %+v", s)
	}
}
