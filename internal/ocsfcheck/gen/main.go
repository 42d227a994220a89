// Command gen compiles the OCSF schema sources (a checkout of github.com/ocsf/ocsf-schema) into the
// compact JSON schema internal/ocsfcheck validates rows against: the event classes pkg/ocsf writes
// and every object they reach, with types, requirements, enums (id → caption), siblings and
// constraints, and nothing else (no descriptions).
//
//	git clone --depth 1 --branch v1.1.0 https://github.com/ocsf/ocsf-schema /tmp/ocsf-schema
//	go run ./internal/ocsfcheck/gen -src /tmp/ocsf-schema -commit "$(git -C /tmp/ocsf-schema rev-parse HEAD)" \
//	    -out testdata/ocsf-1.1.0/schema.json
//
// It compiles the way the OCSF server does for what these classes use: a class or object extends
// its parent (attribute definitions merge field by field, enums merge by id), "$include" merges
// includes and profiles (their attributes are tagged with the profile), every attribute starts from
// its dictionary.json entry, class_uid is category uid × 1000 + class uid, type_uid is class_uid × 100
// + activity_id with caption "<class>: <activity>", and the datetime profile adds <name>_dt
// (datetime_t) beside every timestamp_t attribute.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Output shapes (internal/ocsfcheck reads the same JSON).
type schema struct {
	Version string            `json:"version"`
	Source  map[string]string `json:"source"`
	Types   map[string]typ    `json:"types"`
	Classes map[string]*class `json:"classes"`
	Objects map[string]*obj   `json:"objects"`
}

type typ struct {
	Base   string  `json:"base,omitempty"`
	Regex  string  `json:"regex,omitempty"`
	MaxLen int     `json:"max_len,omitempty"`
	Range  []int64 `json:"range,omitempty"`
}

type attr struct {
	Type    string            `json:"type"`
	Object  string            `json:"object,omitempty"`
	Array   bool              `json:"array,omitempty"`
	Req     string            `json:"req,omitempty"`
	Enum    map[string]string `json:"enum,omitempty"`
	Sibling string            `json:"sibling,omitempty"`
	Profile string            `json:"profile,omitempty"`
}

type constraints struct {
	AtLeastOne []string `json:"at_least_one,omitempty"`
	JustOne    []string `json:"just_one,omitempty"`
}

type class struct {
	UID         int              `json:"uid"`
	Name        string           `json:"name"`
	Caption     string           `json:"caption"`
	CategoryUID int              `json:"category_uid"`
	Profiles    []string         `json:"profiles,omitempty"`
	Attributes  map[string]*attr `json:"attributes"`
	Constraints *constraints     `json:"constraints,omitempty"`
}

type obj struct {
	Attributes  map[string]*attr `json:"attributes"`
	Constraints *constraints     `json:"constraints,omitempty"`
}

// Source shapes.
type srcAttr map[string]any

type srcDoc struct {
	Name        string                     `json:"name"`
	Caption     string                     `json:"caption"`
	UID         *int                       `json:"uid"`
	Extends     string                     `json:"extends"`
	Profiles    []string                   `json:"profiles"`
	Attributes  map[string]json.RawMessage `json:"attributes"`
	Constraints *constraints               `json:"constraints"`
}

type compiler struct {
	root       string
	dict       map[string]srcAttr
	types      map[string]srcAttr
	objects    map[string]*srcDoc // by name
	events     map[string]*srcDoc // by name
	eventCat   map[string]string  // event name → category dir
	categories map[string]struct {
		UID     int    `json:"uid"`
		Caption string `json:"caption"`
	}
}

func main() {
	src := flag.String("src", "", "checkout of github.com/ocsf/ocsf-schema at the wanted tag")
	out := flag.String("out", "", "output file")
	commit := flag.String("commit", "", "commit of the checkout, recorded in the output")
	tag := flag.String("tag", "v1.1.0", "tag of the checkout, recorded in the output")
	classes := flag.String("classes", "api_activity,authentication,account_change,network_activity,dns_activity,detection_finding", "event classes to compile")
	flag.Parse()
	if *src == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	c, err := load(*src)
	if err != nil {
		log.Fatal(err)
	}
	s, err := c.compile(strings.Split(*classes, ","))
	if err != nil {
		log.Fatal(err)
	}
	s.Source = map[string]string{"repository": "https://github.com/ocsf/ocsf-schema", "tag": *tag, "commit": *commit}
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func load(root string) (*compiler, error) {
	c := &compiler{root: root, objects: map[string]*srcDoc{}, events: map[string]*srcDoc{}, eventCat: map[string]string{}}
	var dict struct {
		Attributes map[string]srcAttr `json:"attributes"`
		Types      struct {
			Attributes map[string]srcAttr `json:"attributes"`
		} `json:"types"`
	}
	if err := readJSON(filepath.Join(root, "dictionary.json"), &dict); err != nil {
		return nil, err
	}
	c.dict, c.types = dict.Attributes, dict.Types.Attributes
	var cats struct {
		Attributes map[string]struct {
			UID     int    `json:"uid"`
			Caption string `json:"caption"`
		} `json:"attributes"`
	}
	if err := readJSON(filepath.Join(root, "categories.json"), &cats); err != nil {
		return nil, err
	}
	c.categories = cats.Attributes
	for _, dir := range []string{"objects", "events"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
				return err
			}
			var doc srcDoc
			if err := readJSON(p, &doc); err != nil {
				return err
			}
			if dir == "objects" {
				c.objects[doc.Name] = &doc
				return nil
			}
			c.events[doc.Name] = &doc
			rel, _ := filepath.Rel(filepath.Join(root, "events"), p)
			if parts := strings.Split(filepath.ToSlash(rel), "/"); len(parts) == 2 {
				c.eventCat[doc.Name] = parts[0]
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// attrsOf merges the attributes of doc (its includes first, then its own) into dst.
func (c *compiler) attrsOf(doc *srcDoc, dst map[string]srcAttr, profiles map[string]string) error {
	var own []string
	for k := range doc.Attributes {
		own = append(own, k)
	}
	sort.Strings(own)
	if inc, ok := doc.Attributes["$include"]; ok {
		var files []string
		if err := json.Unmarshal(inc, &files); err != nil {
			return fmt.Errorf("%s $include: %w", doc.Name, err)
		}
		for _, f := range files {
			var d srcDoc
			if err := readJSON(filepath.Join(c.root, f), &d); err != nil {
				return err
			}
			profile := ""
			if strings.HasPrefix(f, "profiles/") {
				profile = d.Name
			}
			sub := map[string]srcAttr{}
			if err := c.attrsOf(&d, sub, profiles); err != nil {
				return err
			}
			for k, v := range sub {
				if profile != "" {
					profiles[k] = profile
				}
				dst[k] = merge(dst[k], v)
			}
		}
	}
	for _, k := range own {
		if k == "$include" {
			continue
		}
		delete(profiles, k) // redefined outside a profile: the class's own definition wins
		var a srcAttr
		if err := json.Unmarshal(doc.Attributes[k], &a); err != nil {
			return fmt.Errorf("%s.%s: %w", doc.Name, k, err)
		}
		dst[k] = merge(dst[k], a)
	}
	return nil
}

// merge overlays b on a field by field; enums merge by id.
func merge(a, b srcAttr) srcAttr {
	out := srcAttr{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if k == "enum" {
			if ea, ok := out["enum"].(map[string]any); ok {
				m := map[string]any{}
				for id, e := range ea {
					m[id] = e
				}
				if eb, ok := v.(map[string]any); ok {
					for id, e := range eb {
						m[id] = e
					}
				}
				out["enum"] = m
				continue
			}
		}
		out[k] = v
	}
	return out
}

// resolve compiles a class or object: its extends chain, root first.
func (c *compiler) resolve(name string, docs map[string]*srcDoc) (map[string]srcAttr, map[string]string, *constraints, []string, error) {
	var chain []*srcDoc
	for n := name; n != ""; {
		d, ok := docs[n]
		if !ok {
			return nil, nil, nil, nil, fmt.Errorf("unknown %q (extended by %s)", n, name)
		}
		chain = append([]*srcDoc{d}, chain...)
		n = d.Extends
	}
	attrs, profiles := map[string]srcAttr{}, map[string]string{}
	var cons *constraints
	var profs []string
	for _, d := range chain {
		if err := c.attrsOf(d, attrs, profiles); err != nil {
			return nil, nil, nil, nil, err
		}
		if d.Constraints != nil {
			cons = d.Constraints
		}
		profs = append(profs, d.Profiles...)
	}
	return attrs, profiles, cons, profs, nil
}

func (c *compiler) attr(name string, local srcAttr, profile string) (*attr, error) {
	d, ok := c.dict[name]
	if !ok {
		return nil, fmt.Errorf("attribute %q is not in the dictionary", name)
	}
	m := merge(d, local)
	a := &attr{Profile: profile}
	a.Type, _ = m["type"].(string)
	if a.Type == "object_t" || c.objects[a.Type] != nil {
		a.Object = a.Type
		if ot, ok := m["object_type"].(string); ok {
			a.Object = ot
		}
		a.Type = "object_t"
	}
	if a.Object == "object" {
		a.Object = "" // a free-form object (unmapped): no attribute list
	}
	a.Array, _ = m["is_array"].(bool)
	a.Req, _ = m["requirement"].(string)
	a.Sibling, _ = m["sibling"].(string)
	if e, ok := m["enum"].(map[string]any); ok && len(e) > 0 {
		a.Enum = map[string]string{}
		for id, v := range e {
			cap, _ := v.(map[string]any)["caption"].(string)
			a.Enum[id] = cap
		}
	}
	return a, nil
}

func (c *compiler) compile(classNames []string) (*schema, error) {
	s := &schema{Version: "1.1.0", Types: map[string]typ{}, Classes: map[string]*class{}, Objects: map[string]*obj{}}
	var v struct {
		Version string `json:"version"`
	}
	if err := readJSON(filepath.Join(c.root, "version.json"), &v); err == nil && v.Version != "" {
		s.Version = v.Version
	}
	for name, t := range c.types {
		var out typ
		out.Base, _ = t["type"].(string)
		out.Regex, _ = t["regex"].(string)
		if n, ok := t["max_len"].(float64); ok {
			out.MaxLen = int(n)
		}
		if r, ok := t["range"].([]any); ok && len(r) == 2 {
			out.Range = []int64{int64(r[0].(float64)), int64(r[1].(float64))}
		}
		s.Types[name] = out
	}
	var queue []string
	for _, name := range classNames {
		d, ok := c.events[name]
		if !ok || d.UID == nil {
			return nil, fmt.Errorf("no event class %q", name)
		}
		cat, ok := c.categories[c.eventCat[name]]
		if !ok {
			return nil, fmt.Errorf("class %q: no category", name)
		}
		attrs, profiles, cons, profs, err := c.resolve(name, c.events)
		if err != nil {
			return nil, err
		}
		cl := &class{UID: cat.UID*1000 + *d.UID, Name: name, Caption: d.Caption, CategoryUID: cat.UID,
			Constraints: cons, Attributes: map[string]*attr{}}
		seen := map[string]bool{}
		for _, p := range profs {
			if !seen[p] {
				seen[p] = true
				cl.Profiles = append(cl.Profiles, p)
			}
		}
		for k, local := range attrs {
			a, err := c.attr(k, local, profiles[k])
			if err != nil {
				return nil, fmt.Errorf("class %s: %w", name, err)
			}
			cl.Attributes[k] = a
			if a.Object != "" {
				queue = append(queue, a.Object)
			}
		}
		uid := strconv.Itoa(cl.UID)
		cl.Attributes["category_uid"].Enum = map[string]string{strconv.Itoa(cat.UID): cat.Caption}
		cl.Attributes["class_uid"].Enum = map[string]string{uid: d.Caption}
		tu := map[string]string{}
		for id, capt := range cl.Attributes["activity_id"].Enum {
			n, _ := strconv.Atoi(id)
			tu[strconv.Itoa(cl.UID*100+n)] = d.Caption + ": " + capt
		}
		cl.Attributes["type_uid"].Enum = tu
		addDatetime(cl.Attributes)
		s.Classes[uid] = cl
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if _, done := s.Objects[name]; done {
			continue
		}
		attrs, profiles, cons, _, err := c.resolve(name, c.objects)
		if err != nil {
			return nil, err
		}
		o := &obj{Attributes: map[string]*attr{}, Constraints: cons}
		s.Objects[name] = o
		for k, local := range attrs {
			a, err := c.attr(k, local, profiles[k])
			if err != nil {
				return nil, fmt.Errorf("object %s: %w", name, err)
			}
			o.Attributes[k] = a
			if a.Object != "" {
				queue = append(queue, a.Object)
			}
		}
		addDatetime(o.Attributes)
	}
	if o, ok := s.Objects["observable"]; ok {
		if err := c.observableTypes(o.Attributes["type_id"]); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// observableTypes completes observable.type_id as the OCSF server does: every type, object and
// dictionary attribute that declares "observable": N is type_id N, captioned with its caption.
func (c *compiler) observableTypes(a *attr) error {
	if a == nil {
		return fmt.Errorf("observable has no type_id")
	}
	if a.Enum == nil {
		a.Enum = map[string]string{}
	}
	add := func(n any, caption any) {
		if f, ok := n.(float64); ok {
			capt, _ := caption.(string)
			a.Enum[strconv.Itoa(int(f))] = capt
		}
	}
	for _, t := range c.types {
		add(t["observable"], t["caption"])
	}
	for _, d := range c.dict {
		add(d["observable"], d["caption"])
	}
	for name := range c.objects {
		var raw map[string]any
		if err := readJSON(filepath.Join(c.root, "objects", name+".json"), &raw); err == nil {
			add(raw["observable"], raw["caption"])
		}
	}
	return nil
}

// addDatetime adds the datetime profile's <name>_dt twin of every timestamp_t attribute.
func addDatetime(attrs map[string]*attr) {
	for k, a := range attrs {
		if a.Type == "timestamp_t" {
			if _, ok := attrs[k+"_dt"]; !ok {
				attrs[k+"_dt"] = &attr{Type: "datetime_t", Array: a.Array, Req: "optional", Profile: "datetime"}
			}
		}
	}
}
