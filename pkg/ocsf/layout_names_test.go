package ocsf

import (
	"regexp"
	"testing"
)

// The rules isRegion and isAccount implement, as Security Lake states them.
var (
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	accountRE = regexp.MustCompile(`^(\d{12}|external|external_[\w\-]+)$`)
	// hostname_t, as OCSF 1.1.0 states it.
	hostnameRE = regexp.MustCompile(`^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9])$`)
)

var nameSeeds = []string{"", "us-east-1", "us-gov-west-1", "eu-central-2", "ap-southeast-10", "us-east-", "us-east",
	"useast-1", "us--east-1", "us-east--1", "-us-east-1", "us-1", "us-e-1", "US-east-1", "us-east-1a", "us-east-1 ",
	"u-east-1", "us_east-1", "us-east-x1", "us-ea5t-1", "cn-north-1", "aws-global", "us-east-1\n", "ü s-east-1",
	"123456789012", "12345678901", "1234567890123", "12345678901a", "external", "external_", "external_ab-C_9",
	"external_a b", "externa", "external-x", "external_ü", "unknown", "000000000000", "external_-", "external__",
	"example.com", "example.com.", ".example.com", "a", "a-b.c-d", "-a.b", "a-.b", "a..b", "_sip._tcp.example.com",
	"xn--bcher-kva.example", "ec2.amazonaws.com", "AWS Internal", "a.b-", "1.2.3.4", "a\n", "ü.example"}

func TestLayoutNameRules(t *testing.T) {
	for _, s := range nameSeeds {
		if got, want := isRegion(s), regionRE.MatchString(s); got != want {
			t.Errorf("isRegion(%q) = %v, regexp says %v", s, got, want)
		}
		if got, want := isAccount(s), accountRE.MatchString(s); got != want {
			t.Errorf("isAccount(%q) = %v, regexp says %v", s, got, want)
		}
		if got, want := isHostname(s), hostnameRE.MatchString(s); got != want {
			t.Errorf("isHostname(%q) = %v, regexp says %v", s, got, want)
		}
	}
}

// FuzzLayoutNameRules checks the hand-written partition value rules against the regular
// expressions they replace.
func FuzzLayoutNameRules(f *testing.F) {
	for _, s := range nameSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isRegion(s), regionRE.MatchString(s); got != want {
			t.Errorf("isRegion(%q) = %v, regexp says %v", s, got, want)
		}
		if got, want := isAccount(s), accountRE.MatchString(s); got != want {
			t.Errorf("isAccount(%q) = %v, regexp says %v", s, got, want)
		}
		if got, want := isHostname(s), hostnameRE.MatchString(s); got != want {
			t.Errorf("isHostname(%q) = %v, regexp says %v", s, got, want)
		}
	})
}
