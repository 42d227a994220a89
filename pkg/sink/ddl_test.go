package sink

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// athenaType is the Athena (Hive) type that reads a Parquet node without conversion. It is derived
// from the physical and logical types of the writer's schema, independently of the DDL files.
func athenaType(n parquet.Node) (string, error) {
	var lv format.LogicalTypeValue
	if lt := n.Type().LogicalType(); lt != nil {
		lv = lt.Value
	}
	if !n.Leaf() {
		switch {
		case isType[*format.ListType](lv):
			elem := n.Fields()[0].Fields()[0] // LIST → repeated group "list" → "element"
			et, err := athenaType(elem)
			if err != nil {
				return "", err
			}
			return "array<" + et + ">", nil
		case isType[*format.MapType](lv):
			kv := n.Fields()[0].Fields()
			kt, err := athenaType(kv[0])
			if err != nil {
				return "", err
			}
			vt, err := athenaType(kv[1])
			if err != nil {
				return "", err
			}
			return "map<" + kt + "," + vt + ">", nil
		}
		parts := make([]string, 0, len(n.Fields()))
		for _, f := range n.Fields() {
			ft, err := athenaType(f)
			if err != nil {
				return "", err
			}
			parts = append(parts, f.Name()+":"+ft)
		}
		return "struct<" + strings.Join(parts, ",") + ">", nil
	}
	switch n.Type().Kind() {
	case parquet.Boolean:
		return "boolean", nil
	case parquet.Int32:
		return "int", nil
	case parquet.Int64:
		if ts, ok := lv.(*format.TimestampType); ok {
			if !isType[*format.MilliSeconds](ts.Unit.Value) || !ts.IsAdjustedToUTC {
				return "", fmt.Errorf("timestamp column %s is not UTC milliseconds", n.Type())
			}
			return "timestamp", nil
		}
		return "bigint", nil
	case parquet.Double:
		return "double", nil
	case parquet.ByteArray:
		if isType[*format.StringType](lv) {
			return "string", nil
		}
	}
	return "", fmt.Errorf("no Athena type for %v", n.Type())
}

func isType[T any](v any) bool {
	_, ok := v.(T)
	return ok
}

type ddlColumn struct{ name, typ string }

// schemaColumns lists a table's top-level columns with their Athena types.
func schemaColumns(t *testing.T, table Table) []ddlColumn {
	t.Helper()
	sc, err := Schema(table)
	if err != nil {
		t.Fatal(err)
	}
	var cols []ddlColumn
	for _, f := range sc.Fields() {
		typ, err := athenaType(f)
		if err != nil {
			t.Fatalf("%s.%s: %v", table, f.Name(), err)
		}
		cols = append(cols, ddlColumn{f.Name(), typ})
	}
	return cols
}

// parsedDDL is what the tests need from a CREATE EXTERNAL TABLE statement.
type parsedDDL struct {
	table      string
	columns    []ddlColumn
	partitions []ddlColumn
	location   string
	props      map[string]string
}

var (
	ddlComment = regexp.MustCompile(`--[^\n]*`)
	ddlCreate  = regexp.MustCompile("(?is)CREATE\\s+EXTERNAL\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?`?([a-z0-9_]+)`?\\s*\\(")
	ddlPart    = regexp.MustCompile(`(?is)PARTITIONED\s+BY\s*\(`)
	ddlLoc     = regexp.MustCompile(`(?is)LOCATION\s+'([^']*)'`)
	ddlProps   = regexp.MustCompile(`(?is)TBLPROPERTIES\s*\(`)
	ddlProp    = regexp.MustCompile(`'([^']*)'\s*=\s*'([^']*)'`)
	ddlSpaces  = regexp.MustCompile(`\s+`)
)

// balanced returns the text from s[open] (an opening parenthesis) to its matching close, exclusive.
func balanced(s string, open int) (string, error) {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return s[open+1 : i], nil
			}
		}
	}
	return "", fmt.Errorf("unbalanced parentheses after offset %d", open)
}

// splitTop splits at commas outside <> and ().
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '<', '(':
			depth++
		case '>', ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}

func parseColumns(body string) ([]ddlColumn, error) {
	var cols []ddlColumn
	for _, def := range splitTop(body) {
		def = strings.TrimSpace(def)
		name, typ, ok := strings.Cut(def, " ")
		if !ok {
			return nil, fmt.Errorf("column definition %q has no type", def)
		}
		typ = strings.ToLower(ddlSpaces.ReplaceAllString(strings.TrimSpace(typ), ""))
		cols = append(cols, ddlColumn{strings.ToLower(strings.Trim(name, "`")), typ})
	}
	return cols, nil
}

func parseDDL(text string) (*parsedDDL, error) {
	text = ddlComment.ReplaceAllString(text, "")
	m := ddlCreate.FindStringSubmatchIndex(text)
	if m == nil {
		return nil, fmt.Errorf("no CREATE EXTERNAL TABLE")
	}
	d := &parsedDDL{table: strings.ToLower(text[m[2]:m[3]]), props: map[string]string{}}
	body, err := balanced(text, m[1]-1)
	if err != nil {
		return nil, err
	}
	if d.columns, err = parseColumns(body); err != nil {
		return nil, err
	}
	if pm := ddlPart.FindStringIndex(text); pm != nil {
		pb, err := balanced(text, pm[1]-1)
		if err != nil {
			return nil, err
		}
		if d.partitions, err = parseColumns(pb); err != nil {
			return nil, err
		}
	}
	if lm := ddlLoc.FindStringSubmatch(text); lm != nil {
		d.location = lm[1]
	}
	if pm := ddlProps.FindStringIndex(text); pm != nil {
		pb, err := balanced(text, pm[1]-1)
		if err != nil {
			return nil, err
		}
		for _, kv := range ddlProp.FindAllStringSubmatch(pb, -1) {
			d.props[kv[1]] = kv[2]
		}
	}
	return d, nil
}

func ddlPath(table Table) string {
	return filepath.Join("..", "..", "deploy", "athena", string(table)+".sql")
}

// TestDDLMatchesWriterSchema parses every deploy/athena/<table>.sql and checks that its columns,
// in order, have exactly the types that read the writer's Parquet schema, and that partitioning,
// location and projection agree with the key layout the sink writes.
func TestDDLMatchesWriterSchema(t *testing.T) {
	for _, table := range Tables() {
		t.Run(string(table), func(t *testing.T) {
			b, err := os.ReadFile(ddlPath(table))
			if err != nil {
				t.Fatal(err)
			}
			d, err := parseDDL(string(b))
			if err != nil {
				t.Fatalf("%s: %v", ddlPath(table), err)
			}
			if d.table != string(table) {
				t.Errorf("table name %q, want %q", d.table, table)
			}
			want := schemaColumns(t, table)
			if len(d.columns) != len(want) {
				t.Errorf("DDL has %d columns, schema %d", len(d.columns), len(want))
			}
			for i := 0; i < min(len(d.columns), len(want)); i++ {
				if d.columns[i] != want[i] {
					t.Errorf("column %d: DDL %s %s, schema %s %s", i, d.columns[i].name, d.columns[i].typ, want[i].name, want[i].typ)
				}
			}
			if len(d.partitions) != 1 || d.partitions[0] != (ddlColumn{"dt", "string"}) {
				t.Errorf("PARTITIONED BY %v, want (dt string)", d.partitions)
			}
			if !strings.HasSuffix(d.location, "/"+string(table)+"/") {
				t.Errorf("LOCATION %q does not end in /%s/", d.location, table)
			}
			wantProps := map[string]string{
				"projection.enabled":        "true",
				"projection.dt.type":        "date",
				"projection.dt.format":      "yyyy-MM-dd",
				"storage.location.template": d.location + "dt=${dt}/",
			}
			for k, v := range wantProps {
				if d.props[k] != v {
					t.Errorf("TBLPROPERTIES %s = %q, want %q", k, d.props[k], v)
				}
			}
			if !strings.Contains(strings.ToUpper(string(b)), "STORED AS PARQUET") {
				t.Error("no STORED AS PARQUET")
			}
		})
	}
}

// TestAthenaTypeRejects checks the type mapping refuses what Athena would misread, so a schema
// change to, say, nanosecond timestamps fails the DDL test instead of shipping.
func TestAthenaTypeRejects(t *testing.T) {
	type nanos struct {
		T int64 `parquet:"t,timestamp(nanosecond)"`
	}
	type raw struct {
		B []byte `parquet:"b"`
	}
	for name, n := range map[string]parquet.Node{
		"nanosecond timestamp": parquet.SchemaOf(nanos{}).Fields()[0],
		"binary without UTF8":  parquet.SchemaOf(raw{}).Fields()[0],
	} {
		if typ, err := athenaType(n); err == nil {
			t.Errorf("%s: mapped to %q, want an error", name, typ)
		}
	}
}

// TestParseDDLErrors checks the DDL reader reports malformed statements instead of accepting them.
func TestParseDDLErrors(t *testing.T) {
	for name, text := range map[string]string{
		"no create":   "SELECT 1",
		"unbalanced":  "CREATE EXTERNAL TABLE x (a string, b struct<c:string>",
		"column type": "CREATE EXTERNAL TABLE x (a)",
	} {
		if _, err := parseDDL(text); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
