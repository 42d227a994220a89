package ocsf

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/logarchive/logarchive/pkg/rules"
)

// DetectionFindingOf maps a metric-filter match to class 2004: the rule is the analytic, the
// matched record's JSON is raw_data and its eventID the related event. finding_info.uid is a hash
// of the rule and the record's lineage, so the same match always has the same uid.
func DetectionFindingOf(f *rules.Finding) (*DetectionFinding, error) {
	if f.EventTime.IsZero() {
		return nil, fmt.Errorf("ocsf: finding of rule %q: %w", f.Rule, ErrNoTime)
	}
	h := headerOf(ClassDetectionFinding, 1, "Create")
	r := &DetectionFinding{
		ActivityID: h.ActivityID, ActivityName: h.ActivityName, CategoryUID: h.CategoryUID,
		CategoryName: h.CategoryName, ClassUID: h.ClassUID, ClassName: h.ClassName,
		TypeUID: h.TypeUID, TypeName: h.TypeName,
		SeverityID: severityIDInformational, Severity: severityInformational,
		StatusID: i32(1), Status: str("New"),
	}
	ms, dt := millis(f.EventTime)
	r.Time, r.TimeDT = *ms, dt
	uid := findingUID(f)
	metric := f.MetricNamespace + "/" + f.MetricName
	r.Message = str(fmt.Sprintf("metric filter %s matched a %s record (metric %s)", f.Rule, f.Source, metric))
	r.Metadata = Metadata{
		Version: OCSFVersion,
		Product: Product{Name: str("logarchive"), VendorName: "logarchive",
			Feature: &Feature{Name: str("Metric filters")}},
		Profiles: []string{"cloud", "datetime"},
		UID:      &uid,
	}
	r.Cloud = Cloud{Provider: "AWS", Region: str(f.Region)}
	if f.Account != "" {
		r.Cloud.Account = &Account{UID: str(f.Account)}
	}
	rule := f.Rule
	r.FindingInfo = FindingInfo{
		UID: uid, Title: f.Rule, Desc: str("CloudWatch Logs metric filter " + f.Rule + " (" + metric + ")"),
		Types:       []string{"Metric Filter Match"},
		DataSources: nonEmpty(f.Source),
		CreatedTime: ms, CreatedTimeDT: dt,
		Analytic: &Analytic{UID: &rule, Name: &rule, Type: str("Rule"), TypeID: 1},
	}
	if f.EventID != "" {
		r.FindingInfo.RelatedEvents = []RelatedEvent{{UID: f.EventID}}
	}
	r.RawData = str(f.EventJSON)
	um := map[string]string{}
	setUnmapped(um, "metric.namespace", f.MetricNamespace)
	setUnmapped(um, "metric.name", f.MetricName)
	if f.MetricValue != nil {
		um["metric.value"] = strconv.FormatFloat(*f.MetricValue, 'g', -1, 64)
	}
	setUnmapped(um, "source.bucket", f.SourceBucket)
	setUnmapped(um, "source.key", f.SourceKey)
	if f.SourceKey != "" {
		um["source.index"] = strconv.FormatInt(f.SourceIndex, 10)
	}
	r.Unmapped = nilIfEmpty(um)
	return r, nil
}

func findingUID(f *rules.Finding) string {
	h := sha256.New()
	for _, s := range []string{f.Rule, f.SourceBucket, f.SourceKey, strconv.FormatInt(f.SourceIndex, 10), f.EventID} {
		h.Write([]byte(s))
		h.Write([]byte{0xff})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
