package envflag

import (
	"flag"
	"strings"
	"testing"
)

func TestApply(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	a := fs.String("s3-bucket", "", "")
	b := fs.String("region", "", "")
	fs.Int("chain-workers", 1, "")
	if err := fs.Parse([]string{"--region", "cli"}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"LOGARCHIVE_S3_BUCKET": "b", "LOGARCHIVE_REGION": "env", "LOGARCHIVE_CHAIN_WORKERS": "x"}
	err := Apply(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if *a != "b" || *b != "cli" {
		t.Fatalf("s3-bucket %q (want b from env), region %q (want cli: the command line wins)", *a, *b)
	}
	if err == nil || !strings.Contains(err.Error(), "LOGARCHIVE_CHAIN_WORKERS") {
		t.Fatalf("bad value not reported by its variable: %v", err)
	}
}
