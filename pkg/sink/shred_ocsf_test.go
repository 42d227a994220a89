package sink_test

import (
	"testing"

	"github.com/logarchive/logarchive/pkg/ocsf"
	"github.com/logarchive/logarchive/pkg/sink"
)

// TestShredderCompilesOCSF: every Security Lake class is shredded too, none falls back.
func TestShredderCompilesOCSF(t *testing.T) {
	for name, err := range map[string]error{
		"APIActivity": sink.ShredderError[ocsf.APIActivity](), "Authentication": sink.ShredderError[ocsf.Authentication](),
		"AccountChange": sink.ShredderError[ocsf.AccountChange](), "NetworkActivity": sink.ShredderError[ocsf.NetworkActivity](),
		"DNSActivity": sink.ShredderError[ocsf.DNSActivity](), "DetectionFinding": sink.ShredderError[ocsf.DetectionFinding](),
	} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
