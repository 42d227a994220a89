package filter

import (
	"bytes"
	"encoding/json"
)

// TestMatch is one entry of TestMetricFilter's "matches".
type TestMatch struct {
	EventNumber     int
	EventMessage    string
	ExtractedValues []Field // in slot order; empty for JSON, term and regex patterns
}

// TestResult is the response of CloudWatch Logs' TestMetricFilter.
type TestResult struct {
	Matches []TestMatch
}

// TestMessages runs a pattern over messages as TestMetricFilter does: it lists the matching ones,
// numbered from 1 as the 2026 AWS recording shows (the API reference's examples count from 0), with
// the values a space-delimited pattern extracts.
func TestMessages(p *Pattern, messages []string) TestResult {
	r := TestResult{Matches: []TestMatch{}}
	for i, m := range messages {
		res := p.MatchFields([]byte(m))
		if !res.Matched {
			continue
		}
		r.Matches = append(r.Matches, TestMatch{EventNumber: i + 1, EventMessage: m, ExtractedValues: res.Fields})
	}
	return r
}

// MarshalJSON writes the AWS CLI's JSON shape:
// {"matches":[{"eventNumber":1,"eventMessage":"…","extractedValues":{"$1":"…"}}]}, keeping the
// extracted values in slot order.
func (r TestResult) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"matches":[`)
	for i, m := range r.Matches {
		if i > 0 {
			b.WriteByte(',')
		}
		msg, err := json.Marshal(m.EventMessage)
		if err != nil {
			return nil, err
		}
		b.WriteString(`{"eventNumber":`)
		b.WriteString(itoa(m.EventNumber))
		b.WriteString(`,"eventMessage":`)
		b.Write(msg)
		b.WriteString(`,"extractedValues":{`)
		for j, f := range m.ExtractedValues {
			if j > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(f.Name)
			v, _ := json.Marshal(f.Value)
			b.Write(k)
			b.WriteByte(':')
			b.Write(v)
		}
		b.WriteString(`}}`)
	}
	b.WriteString(`]}`)
	return b.Bytes(), nil
}

func itoa(n int) string {
	var buf [20]byte
	i := len(buf)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}
