package sink

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/logarchive/logarchive/pkg/parse"
)

// FuzzCloudTrailRow feeds arbitrary field values (any bytes, any creationDate text, any free-form
// member) through the converter and the writer, and reads the file back: nothing may panic, every
// string must survive byte for byte, absent must stay NULL, and both timestamps must round-trip at
// millisecond precision.
func FuzzCloudTrailRow(f *testing.F) {
	f.Add("ConsoleLogin", "", `{"MFAUsed":"No"}`, "2023-07-10T11:42:31Z", "true", int64(1688989351123))
	f.Add("", "AccessDenied", "null", "20131102T010628Z", "false", int64(0))
	f.Add("\xff\xfe", "\x00", "", "not a date", "TRUE", int64(-1))
	f.Fuzz(func(t *testing.T, name, errCode, additional, creation, mfa string, ms int64) {
		if ms < -1e14 || ms > 1e14 { // keep within years a timestamp column can hold
			return
		}
		ev := &parse.CloudTrailEvent{
			EventName: name, ErrorCode: errCode, EventTime: time.UnixMilli(ms).UTC(),
			AdditionalEvent: json.RawMessage(additional),
			UserIdentity: &parse.UserIdentity{Type: "IAMUser", SessionContext: &parse.SessionContext{
				CreationDate: creation, MFAAuthenticated: mfa}},
		}
		row := CloudTrailRowOf(Lineage{Bucket: "b", Key: name, Index: ms}, ev)
		rs := &rowsOf[CloudTrailRow]{}
		rs.add(row, sortKey{t: ms})
		rs.add(CloudTrailRow{EventTime: time.UnixMilli(ms).UTC(), SourceKey: "second"}, sortKey{t: ms, ord: 1})
		var buf bytes.Buffer
		if err := rs.write(&buf, writeConfig{codec: newCodec(Zstd, DefaultPageBytes), pageBytes: DefaultPageBytes, rowGroupRows: 10}); err != nil {
			t.Fatal(err)
		}
		got, err := parquet.Read[ctReadBack](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("%d rows", len(got))
		}
		g := got[0]
		if str(g.EventName) != name || str(g.ErrorCode) != errCode || g.SourceKey != name || g.SourceIndex != ms {
			t.Fatalf("strings changed: %q %q %q %d", str(g.EventName), str(g.ErrorCode), g.SourceKey, g.SourceIndex)
		}
		if (name == "") != (g.EventName == nil) || got[1].EventName != nil || got[1].UserIdentity != nil {
			t.Fatal("NULL and empty confused")
		}
		wantAdd := additional
		if additional == "null" {
			wantAdd = ""
		}
		if str(g.AdditionalEventData) != wantAdd {
			t.Fatalf("additionaleventdata %q, want %q", str(g.AdditionalEventData), wantAdd)
		}
		if !g.EventTime.Equal(time.UnixMilli(ms)) {
			t.Fatalf("eventtime %v, want %v", g.EventTime, time.UnixMilli(ms))
		}
		at := g.UserIdentity.SessionContext.Attributes
		// The reference is time.Parse in each form, which parseCreationDate's fast path must agree with.
		var want *time.Time
		for _, layout := range creationDateLayouts {
			if t, err := time.Parse(layout, creation); err == nil {
				want = ptr(t.UTC())
				break
			}
		}
		switch {
		case creation == "" && mfa == "":
			if at != nil {
				t.Fatal("attributes written for an absent attributes object")
			}
		case want == nil:
			if at.CreationDate != nil {
				t.Fatalf("creationdate %v from unparsable %q", at.CreationDate, creation)
			}
		default:
			if at.CreationDate == nil || !at.CreationDate.Equal(want.Truncate(time.Millisecond)) {
				t.Fatalf("creationdate %v, want %v", at.CreationDate, want)
			}
		}
		if at != nil && (at.MFAAuthenticated != nil) != (mfa == "true" || mfa == "false") {
			t.Fatalf("mfaauthenticated %v from %q", at.MFAAuthenticated, mfa)
		}
	})
}

// ctReadBack reads some of the cloudtrail columns with NULL kept apart from "" (the row type
// itself has plain strings, "" being NULL).
type ctReadBack struct {
	EventTime           time.Time `parquet:"eventtime,timestamp(millisecond)"`
	EventName           *string   `parquet:"eventname,optional"`
	ErrorCode           *string   `parquet:"errorcode,optional"`
	AdditionalEventData *string   `parquet:"additionaleventdata,optional"`
	UserIdentity        *struct {
		SessionContext *struct {
			Attributes *SessionAttributesCol `parquet:"attributes,optional"`
		} `parquet:"sessioncontext,optional"`
	} `parquet:"useridentity,optional"`
	SourceKey   string `parquet:"source_key"`
	SourceIndex int64  `parquet:"source_index"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
