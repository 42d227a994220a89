package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	kgzip "github.com/klauspost/compress/gzip"

	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

// genSpec is one synthetic archive: the synth options that matter for its size. Several datasets
// can be cut from one archive (the flow archive holds the default and the custom formats).
type genSpec struct {
	Name                   string
	Accounts, Hours        int
	Regions                []string
	Events, Flows, Queries int
}

// dataSpec is one benchmark dataset: the objects of one table (and, for flow logs, one format) of
// a generated archive.
type dataSpec struct {
	Name       string // cloudtrail, flow-default, flow-custom, resolver
	Gen        genSpec
	Table      string // synth table name
	FlowFormat string // for vpcflow: the synth format name
}

// sizes are the datasets of one mode.
type sizes struct {
	Data []dataSpec
	// BigFlowBytes is the inflated size of the single flow object of the memory case.
	BigFlowBytes int64
}

// sizesFor returns the datasets of a mode. "full" matches the sizes of issue 10 (CloudTrail ~80k
// records, VPC flow ~1.5M records per format, Resolver ~211k records, one 1 GiB flow object);
// "quick" is a CI smoke of the same shapes; "tiny" is what go test runs.
func sizesFor(mode string) (sizes, error) {
	var ct, fl, rs genSpec
	var big int64
	switch mode {
	case "full":
		// 8 accounts × 2 regions × 10 h × 500 events ≈ 80k records.
		ct = genSpec{Name: "cloudtrail", Accounts: 8, Regions: []string{"us-east-1", "eu-west-1"}, Hours: 10, Events: 500, Flows: -1, Queries: -1}
		// Chains take the formats in turn: account 1 default, 2 custom-v5, 3 custom-v5-alpha (unused).
		fl = genSpec{Name: "flow", Accounts: 3, Regions: []string{"us-east-1"}, Hours: 24, Events: -1, Flows: 62500, Queries: -1}
		// 4 accounts × 2 regions × 12 h × 2,200 ≈ 211k records.
		rs = genSpec{Name: "resolver", Accounts: 4, Regions: []string{"us-east-1", "eu-west-1"}, Hours: 12, Events: -1, Flows: -1, Queries: 2200}
		big = 1 << 30
	case "quick":
		ct = genSpec{Name: "cloudtrail", Accounts: 4, Regions: []string{"us-east-1", "eu-west-1"}, Hours: 2, Events: 500, Flows: -1, Queries: -1}
		fl = genSpec{Name: "flow", Accounts: 3, Regions: []string{"us-east-1"}, Hours: 2, Events: -1, Flows: 25000, Queries: -1}
		rs = genSpec{Name: "resolver", Accounts: 3, Regions: []string{"us-east-1"}, Hours: 2, Events: -1, Flows: -1, Queries: 4000}
		big = 64 << 20
	case "tiny":
		ct = genSpec{Name: "cloudtrail", Accounts: 3, Regions: []string{"us-east-1"}, Hours: 1, Events: 200, Flows: -1, Queries: -1}
		fl = genSpec{Name: "flow", Accounts: 3, Regions: []string{"us-east-1"}, Hours: 1, Events: -1, Flows: 1200, Queries: -1}
		rs = genSpec{Name: "resolver", Accounts: 3, Regions: []string{"us-east-1"}, Hours: 1, Events: -1, Flows: -1, Queries: 300}
		big = 4 << 20
	default:
		return sizes{}, fmt.Errorf("unknown mode %q (want full, quick or tiny)", mode)
	}
	return sizes{
		Data: []dataSpec{
			{Name: "cloudtrail", Gen: ct, Table: synth.TableCloudTrail},
			{Name: "flow-default", Gen: fl, Table: synth.TableVPCFlow, FlowFormat: "default"},
			{Name: "flow-custom", Gen: fl, Table: synth.TableVPCFlow, FlowFormat: "custom-v5"},
			{Name: "resolver", Gen: rs, Table: synth.TableResolver},
		},
		BigFlowBytes: big,
	}, nil
}

// dataset is a prepared dataset: a directory mirroring the bucket (Src/<bucket>/<key>) holding
// only the dataset's objects, and what the generator says is in it.
type dataset struct {
	Name          string   `json:"name"`
	Table         string   `json:"table"`
	Src           string   `json:"src"`
	Files         []string `json:"files"` // absolute paths of the objects, sorted
	Records       int64    `json:"records"`
	Compressed    int64    `json:"compressed"`
	Inflated      int64    `json:"inflated"`
	DuckDBPattern string   `json:"duckdbPattern"` // a glob matching exactly Files
	Seed          uint64   `json:"seed"`
}

// generate writes the archive of g under dir (once: a stamp file records the spec) and returns its
// manifest.
func generate(ctx context.Context, dir string, g genSpec, seed uint64) (*synth.Manifest, error) {
	stamp := filepath.Join(dir, "spec.json")
	want, _ := json.Marshal(struct {
		G    genSpec
		Seed uint64
	}{g, seed})
	mpath := filepath.Join(dir, "manifest.json")
	if have, err := os.ReadFile(stamp); err == nil && bytes.Equal(have, want) {
		if b, err := os.ReadFile(mpath); err == nil {
			var m synth.Manifest
			if err := json.Unmarshal(b, &m); err == nil {
				return &m, nil
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	o, err := synth.Preset("demo", seed)
	if err != nil {
		return nil, err
	}
	o.NumAccounts, o.Regions, o.Hours = g.Accounts, g.Regions, g.Hours
	o.EventsPerHour, o.FlowRecordsPerHour, o.ResolverQueriesPerHour = g.Events, g.Flows, g.Queries
	if err := o.Validate(); err != nil {
		return nil, err
	}
	m, err := synth.Generate(ctx, store.NewLocal(filepath.Join(dir, "archive")), o)
	if err != nil {
		return nil, fmt.Errorf("generate %s: %w", g.Name, err)
	}
	mj, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(mpath, mj, 0o644); err != nil {
		return nil, err
	}
	return m, os.WriteFile(stamp, want, 0o644)
}

// prepare generates (or reuses) the archive of d and links the dataset's objects into their own
// source directory, so that ingest, gzip and DuckDB read exactly the same files.
func prepare(ctx context.Context, work string, d dataSpec, seed uint64) (*dataset, error) {
	genDir := filepath.Join(work, "gen", d.Gen.Name)
	m, err := generate(ctx, genDir, d.Gen, seed)
	if err != nil {
		return nil, err
	}
	formatOf := map[string]string{} // account/region → flow format
	for _, c := range m.Chains {
		formatOf[c.Account+"/"+c.Region] = c.FlowFormat
	}
	ds := &dataset{Name: d.Name, Table: d.Table, Src: filepath.Join(work, "data", d.Name), Seed: seed}
	cache := filepath.Join(work, "data", d.Name+".json")
	if b, err := os.ReadFile(cache); err == nil {
		var have dataset
		if json.Unmarshal(b, &have) == nil && have.Seed == seed && have.Src == ds.Src {
			if st, err := os.Stat(filepath.Join(genDir, "spec.json")); err == nil {
				if ct, err := os.Stat(cache); err == nil && ct.ModTime().After(st.ModTime()) {
					return &have, nil
				}
			}
		}
	}
	if err := os.RemoveAll(ds.Src); err != nil {
		return nil, err
	}
	var exts = map[string]bool{}
	for _, o := range m.Objects {
		if o.Table != d.Table {
			continue
		}
		if d.FlowFormat != "" && formatOf[o.Account+"/"+o.Region] != d.FlowFormat {
			continue
		}
		from := filepath.Join(genDir, "archive", m.Bucket, filepath.FromSlash(o.Key))
		to := filepath.Join(ds.Src, m.Bucket, filepath.FromSlash(o.Key))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return nil, err
		}
		if err := os.Link(from, to); err != nil {
			return nil, fmt.Errorf("link %s: %w", o.Key, err)
		}
		n, err := inflatedSize(to)
		if err != nil {
			return nil, err
		}
		ds.Files = append(ds.Files, to)
		ds.Records += int64(o.Records)
		ds.Compressed += int64(o.Size)
		ds.Inflated += n
		exts[filepath.Ext(strings.TrimSuffix(o.Key, ".gz"))] = true
	}
	if len(ds.Files) == 0 {
		return nil, fmt.Errorf("dataset %s: no objects", d.Name)
	}
	sort.Strings(ds.Files)
	// Every object of a table sits at the same depth with the same suffix, so one glob with that
	// many path segments matches exactly the dataset.
	rel, err := filepath.Rel(ds.Src, ds.Files[0])
	if err != nil {
		return nil, err
	}
	segs := strings.Split(rel, string(filepath.Separator))
	suffix := ".json.gz"
	if strings.HasSuffix(rel, ".log.gz") {
		suffix = ".log.gz"
	}
	for i := range segs {
		segs[i] = "*"
	}
	segs[len(segs)-1] = "*" + suffix
	ds.DuckDBPattern = filepath.Join(ds.Src, filepath.Join(segs...))
	matched, err := filepath.Glob(ds.DuckDBPattern)
	if err != nil {
		return nil, err
	}
	if len(matched) != len(ds.Files) {
		return nil, fmt.Errorf("dataset %s: glob %s matches %d files, want %d", d.Name, ds.DuckDBPattern, len(matched), len(ds.Files))
	}
	b, err := json.Marshal(ds)
	if err != nil {
		return nil, err
	}
	return ds, os.WriteFile(cache, b, 0o644)
}

func inflatedSize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	zr, err := kgzip.NewReader(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	n, err := io.Copy(io.Discard, zr)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// bigFlow writes one VPC flow object (default format) inflating to at least size bytes, by cycling
// through the records of the flow-default dataset: every line is a valid record and becomes a row.
// It sits at the key of the dataset's first object, in its own source directory.
func bigFlow(work string, flow *dataset, size int64) (*dataset, error) {
	src := filepath.Join(work, "data", fmt.Sprintf("flow-big-%d", size))
	rel, err := filepath.Rel(flow.Src, flow.Files[0])
	if err != nil {
		return nil, err
	}
	to := filepath.Join(src, rel)
	cache := src + ".json"
	if b, err := os.ReadFile(cache); err == nil {
		var have dataset
		if json.Unmarshal(b, &have) == nil && have.Inflated >= size && have.Seed == flow.Seed {
			return &have, nil
		}
	}
	var header []byte
	var lines [][]byte
	for _, f := range flow.Files {
		b, err := readGzip(f)
		if err != nil {
			return nil, err
		}
		h, body, _ := bytes.Cut(b, []byte("\n"))
		if header == nil {
			header = append(h, '\n')
		}
		for l := range bytes.Lines(body) {
			lines = append(lines, l)
		}
		if len(lines) > 200_000 {
			break
		}
	}
	if len(lines) == 0 {
		return nil, errors.New("big flow object: the flow-default dataset has no records")
	}
	if err := os.RemoveAll(src); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return nil, err
	}
	out, err := os.Create(to)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	bw := bufio.NewWriterSize(out, 1<<20)
	zw, err := kgzip.NewWriterLevel(bw, kgzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	inflated, _ := zw.Write(header)
	var records int64
	for int64(inflated) < size {
		l := lines[records%int64(len(lines))]
		n, err := zw.Write(l)
		if err != nil {
			return nil, err
		}
		inflated += n
		records++
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	st, err := out.Stat()
	if err != nil {
		return nil, err
	}
	ds := &dataset{Name: "flow-1-object", Table: flow.Table, Src: src, Files: []string{to}, Records: records,
		Compressed: st.Size(), Inflated: int64(inflated), Seed: flow.Seed}
	b, err := json.Marshal(ds)
	if err != nil {
		return nil, err
	}
	return ds, os.WriteFile(cache, b, 0o644)
}

func readGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := kgzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return io.ReadAll(zr)
}
