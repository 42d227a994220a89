package ocsf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Provider is what CreateCustomLogSource returns for one custom source (its "provider" object),
// with the external ID the source was registered with: where the class's objects go, and the role
// that may write there.
type Provider struct {
	Class    Class
	Location string // provider.location, s3://aws-security-data-lake-<region>-<id>/ext/<name>/[<version>/]
	// RoleARN is provider.roleArn, the AmazonSecurityLake-Provider-<name>-<region> role; empty: the
	// writer's own credentials write the location.
	RoleARN    string
	ExternalID string // the sts:ExternalId the role's trust policy requires; needed with RoleARN
	// Region is the lake bucket's Region: "region" in the JSON, else the one in Security Lake's
	// bucket name (aws-security-data-lake-<region>-<id>), else empty (the writer's own Region).
	// S3 answers a request signed for another Region with a redirect, not the object.
	Region string
}

// lakeBucketRE is the name Security Lake gives its bucket in each Region.
var lakeBucketRE = lazyRegexp(`^aws-security-data-lake-([a-z]{2}(?:-[a-z]+)+-\d+)-`)

// roleARNRE is the roleArn pattern of CustomLogSourceProvider (Security Lake API reference).
var roleARNRE = lazyRegexp(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)

// externalIDRE is sts:AssumeRole's ExternalId constraint.
var externalIDRE = lazyRegexp(`^[\w+=,.@:/\-]+$`)

// ParseProviders reads the providers of the custom sources from JSON keyed by eventClasses value
// (docs/security-lake.md §2):
//
//	{"externalId": "…",
//	 "sources": {"API_ACTIVITY": {"location": "s3://…/ext/logarchive-api-activity/1.0/",
//	                              "roleArn": "arn:aws:iam::…:role/AmazonSecurityLake-Provider-…"}, …}}
//
// A source's own "externalId" overrides the shared one; "region" is optional (see Provider). Unknown members are refused, so a typo is
// an error rather than a source silently written with the wrong credentials. The result is in the
// order of Classes.
func ParseProviders(data []byte) ([]Provider, error) {
	type source struct {
		Location   string `json:"location"`
		RoleARN    string `json:"roleArn"`
		ExternalID string `json:"externalId"`
		Region     string `json:"region"`
	}
	var doc struct {
		ExternalID string            `json:"externalId"`
		Sources    map[string]source `json:"sources"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("ocsf: providers: %w", err)
	}
	if len(doc.Sources) == 0 {
		return nil, fmt.Errorf(`ocsf: providers: no "sources"`)
	}
	byClass := map[string]Class{}
	for _, c := range Classes() {
		byClass[c.EventClass()] = c
	}
	var out []Provider
	for name, s := range doc.Sources {
		c, ok := byClass[name]
		if !ok {
			known := make([]string, 0, len(byClass))
			for k := range byClass {
				known = append(known, k)
			}
			sort.Strings(known)
			return nil, fmt.Errorf("ocsf: providers: source %q: not an event class this writer has (%v)", name, known)
		}
		p := Provider{Class: c, Location: s.Location, RoleARN: s.RoleARN, ExternalID: s.ExternalID}
		if p.ExternalID == "" {
			p.ExternalID = doc.ExternalID
		}
		loc, err := ProviderLocation(nil, p.Location)
		if err != nil {
			return nil, fmt.Errorf("ocsf: providers: source %s: %w", name, err)
		}
		p.Region = s.Region
		if m := lakeBucketRE().FindStringSubmatch(loc.Bucket); p.Region == "" && m != nil {
			p.Region = m[1]
		}
		if p.Region != "" && !isRegion(p.Region) {
			return nil, fmt.Errorf("ocsf: providers: source %s: %w", name, &LayoutError{"region", p.Region, "an AWS region such as us-east-1"})
		}
		if p.RoleARN != "" {
			if !roleARNRE().MatchString(p.RoleARN) {
				return nil, fmt.Errorf("ocsf: providers: source %s: %w", name, &LayoutError{"provider.roleArn", p.RoleARN, "an IAM role ARN"})
			}
			if p.ExternalID == "" {
				return nil, fmt.Errorf("ocsf: providers: source %s: a roleArn needs the externalId the source was registered with", name)
			}
			if n := len(p.ExternalID); n < 2 || n > 1224 || !externalIDRE().MatchString(p.ExternalID) {
				return nil, fmt.Errorf("ocsf: providers: source %s: %w", name, &LayoutError{"externalId", p.ExternalID, `2-1224 of [\w+=,.@:/-]`})
			}
		}
		out = append(out, p)
	}
	order := map[Class]int{}
	for i, c := range Classes() {
		order[c] = i
	}
	sort.Slice(out, func(i, j int) bool { return order[out[i].Class] < order[out[j].Class] })
	return out, nil
}
