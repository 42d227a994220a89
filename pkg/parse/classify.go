package parse

import "strings"

// Classify tells what an object is from its key layout alone (no I/O). It accepts any prefix before
// AWSLogs/ and the layouts of formats.md §1.1, §2.3 and §3.1:
//
//	[prefix/]AWSLogs/[o-id/]<acct>/CloudTrail{,-Insight,-NetworkActivity,-Digest}/<region>/…/<file>
//	[prefix/]AWSLogs/<acct>/vpcflowlogs/<region>/…/<file>
//	[prefix/]AWSLogs/aws-account-id=<acct>/aws-service=vpcflowlogs/aws-region=<region>/…/<file>
//	[prefix/]AWSLogs/<acct>/vpcdnsquerylogs/<vpc-id>/…/<file>
//
// Anything else is SourceUnknown with a Reason. The key must already be URL-decoded (S3 event
// notifications encode it).
func Classify(bucket, key string) Object {
	obj := Object{Bucket: bucket, Key: key}
	if key == "" || strings.HasSuffix(key, "/") {
		obj.Reason = "folder placeholder, not a log file"
		return obj
	}
	segs := strings.Split(key, "/")
	reason := "no AWSLogs/ segment"
	for i, s := range segs {
		if s != "AWSLogs" {
			continue
		}
		o, why := classifyAfter(obj, segs[i+1:])
		if o.Source != SourceUnknown {
			return o
		}
		reason = why
	}
	obj.Reason = reason
	return obj
}

// classifyAfter reads the segments after an AWSLogs segment; the last segment is the file name.
func classifyAfter(obj Object, rest []string) (Object, string) {
	if len(rest) > 0 && isOrgID(rest[0]) {
		obj.OrgID = rest[0]
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return obj, "nothing after AWSLogs/"
	}
	if acct, ok := strings.CutPrefix(rest[0], "aws-account-id="); ok {
		return classifyHive(obj, acct, rest[1:])
	}
	if !isAccountID(rest[0]) {
		return obj, "no account id after AWSLogs/"
	}
	obj.Account = rest[0]
	if len(rest) < 2 {
		return obj, "no service after the account id"
	}
	service, tail := rest[1], rest[2:]
	// tail holds at least a region (or VPC) and a file name.
	if len(tail) < 2 {
		return obj, "too few path segments after " + service
	}
	var src Source
	switch service {
	case "CloudTrail", "CloudTrail-NetworkActivity":
		src = SourceCloudTrail
	case "CloudTrail-Insight":
		src = SourceInsight
	case "CloudTrail-Digest":
		src = SourceDigest
	case "vpcflowlogs":
		src = SourceVPCFlow
	case "vpcdnsquerylogs":
		obj.Source = SourceResolver // tail[0] is the VPC id; Resolver paths carry no region
		return obj, ""
	case "CloudTrail-Aggregated":
		return obj, "CloudTrail-Aggregated: record format not supported"
	default:
		return obj, "unsupported service " + service
	}
	if obj.OrgID != "" && src == SourceVPCFlow {
		return obj, "vpcflowlogs under an organization id"
	}
	obj.Source = src
	obj.Region = tail[0]
	return obj, ""
}

func classifyHive(obj Object, acct string, rest []string) (Object, string) {
	if !isAccountID(acct) {
		return obj, "bad aws-account-id partition"
	}
	obj.Account = acct
	if len(rest) < 3 {
		return obj, "too few path segments after aws-account-id="
	}
	service, ok := strings.CutPrefix(rest[0], "aws-service=")
	if !ok {
		return obj, "no aws-service= partition"
	}
	if service != "vpcflowlogs" {
		return obj, "unsupported service " + service
	}
	if region, ok := strings.CutPrefix(rest[1], "aws-region="); ok {
		obj.Region = region
	}
	obj.Source = SourceVPCFlow
	return obj, ""
}

// isOrgID matches o-[a-z0-9]{10,32}.
func isOrgID(s string) bool {
	if len(s) < 12 || len(s) > 34 || !strings.HasPrefix(s, "o-") {
		return false
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
