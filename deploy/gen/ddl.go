package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/logarchive/logarchive/pkg/sink"
)

// Column is one column of a DDL table, its type as Glue stores it (no spaces).
type Column struct{ Name, Type string }

// DDL is what the Glue table needs from a CREATE EXTERNAL TABLE statement.
type DDL struct {
	Table      string
	Columns    []Column
	Partitions []Column
	Props      map[string]string
}

var (
	ddlComment = regexp.MustCompile(`--[^\n]*`)
	ddlCreate  = regexp.MustCompile("(?is)CREATE\\s+EXTERNAL\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?`?([a-z0-9_]+)`?\\s*\\(")
	ddlPart    = regexp.MustCompile(`(?is)PARTITIONED\s+BY\s*\(`)
	ddlProps   = regexp.MustCompile(`(?is)TBLPROPERTIES\s*\(`)
	ddlProp    = regexp.MustCompile(`'([^']*)'\s*=\s*'([^']*)'`)
	ddlSpaces  = regexp.MustCompile(`\s+`)
)

// ReadDDL parses deploy/athena/<table>.sql for every table the sink writes.
func ReadDDL(athenaDir string) ([]DDL, error) {
	var out []DDL
	for _, t := range sink.Tables() {
		p := filepath.Join(athenaDir, string(t)+".sql")
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		d, err := ParseDDL(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if d.Table != string(t) {
			return nil, fmt.Errorf("%s creates table %q", p, d.Table)
		}
		out = append(out, d)
	}
	return out, nil
}

// ParseDDL reads the statement's table name, columns, partition columns and table properties.
func ParseDDL(text string) (DDL, error) {
	var d DDL
	text = ddlComment.ReplaceAllString(text, "")
	m := ddlCreate.FindStringSubmatchIndex(text)
	if m == nil {
		return d, fmt.Errorf("no CREATE EXTERNAL TABLE")
	}
	d.Table = strings.ToLower(text[m[2]:m[3]])
	body, err := balanced(text, m[1]-1)
	if err != nil {
		return d, err
	}
	if d.Columns, err = columns(body); err != nil {
		return d, err
	}
	if pm := ddlPart.FindStringIndex(text); pm != nil {
		pb, err := balanced(text, pm[1]-1)
		if err != nil {
			return d, err
		}
		if d.Partitions, err = columns(pb); err != nil {
			return d, err
		}
	}
	d.Props = map[string]string{}
	if pm := ddlProps.FindStringIndex(text); pm != nil {
		pb, err := balanced(text, pm[1]-1)
		if err != nil {
			return d, err
		}
		for _, kv := range ddlProp.FindAllStringSubmatch(pb, -1) {
			d.Props[kv[1]] = kv[2]
		}
	}
	return d, nil
}

func balanced(s string, open int) (string, error) {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return s[open+1 : i], nil
			}
		}
	}
	return "", fmt.Errorf("unbalanced parentheses after offset %d", open)
}

func columns(body string) ([]Column, error) {
	var cols []Column
	depth, start := 0, 0
	var defs []string
	for i, c := range body {
		switch c {
		case '<', '(':
			depth++
		case '>', ')':
			depth--
		case ',':
			if depth == 0 {
				defs = append(defs, body[start:i])
				start = i + 1
			}
		}
	}
	defs = append(defs, body[start:])
	for _, def := range defs {
		def = strings.TrimSpace(def)
		if def == "" {
			continue
		}
		name, typ, ok := strings.Cut(def, " ")
		if !ok {
			return nil, fmt.Errorf("column definition %q has no type", def)
		}
		cols = append(cols, Column{strings.ToLower(strings.Trim(name, "`")), strings.ToLower(ddlSpaces.ReplaceAllString(typ, ""))})
	}
	return cols, nil
}
