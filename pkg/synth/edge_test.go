package synth_test

import (
	"testing"
	"time"

	"github.com/logarchive/logarchive/pkg/synth"
)

// TestEdgeOptions generates unusual but valid archives and checks they still verify.
func TestEdgeOptions(t *testing.T) {
	tests := []struct {
		name string
		o    synth.Options
	}{
		{"one hour, one region, no flow or resolver", synth.Options{Seed: 2, NumAccounts: 3, Hours: 1, Regions: []string{"eu-central-1"},
			EventsPerHour: 30, FlowRecordsPerHour: -1, ResolverQueriesPerHour: -1}},
		{"explicit accounts, nested prefix, odd start", synth.Options{Seed: 3, Hours: 2, EventsPerHour: 24, FlowRecordsPerHour: 12, ResolverQueriesPerHour: 12,
			Accounts: []synth.Account{{ID: "111111111111", Name: "prod"}, {ID: "222222222222", Name: "shared"}},
			Prefix:   "o-abcdefghij/logs", OrgID: "o-abcdefghij", Start: time.Date(2025, 12, 31, 23, 17, 41, 0, time.FixedZone("x", 3600)),
			Regions: []string{"ap-southeast-2", "us-east-1"}, HomeRegion: "us-east-1", TrailName: "org.trail_v2"}},
		{"no ordinary events", synth.Options{Seed: 4, NumAccounts: 3, Hours: 2, EventsPerHour: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := generateToDisk(t, tc.o)
			for _, p := range verifyArchive(t, a) {
				t.Errorf("%s: %s", p.key, p.what)
			}
			if tc.o.EventsPerHour < 0 {
				// Only the scenario's records remain.
				if got, want := a.m.Tables[synth.TableCloudTrail].Records, len(a.m.Scenario); got != want {
					t.Errorf("%d CloudTrail records, want only the %d scenario records", got, want)
				}
			}
			if len(a.m.Events(synth.ScenarioSwitchRole)) != 1 {
				t.Errorf("%d SwitchRole events, want 1", len(a.m.Events(synth.ScenarioSwitchRole)))
			}
			if a.m.Tables[synth.TableDigest].Files != len(a.m.Accounts)*len(a.m.Regions)*(a.m.Hours+1) {
				t.Errorf("%d digests for %d chains × %d", a.m.Tables[synth.TableDigest].Files, len(a.m.Accounts)*len(a.m.Regions), a.m.Hours+1)
			}
		})
	}
}
