package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfileMatchesImage keeps the Dockerfile (for teams with docker buildx) and make image
// building the same thing: build flags, user, entrypoint, command and port. No Docker daemon runs
// here, so this reads the Dockerfile rather than building it.
func TestDockerfileMatchesImage(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	directive := func(name string) string {
		m := regexp.MustCompile(`(?m)^`+name+`\s+(.+)$`).FindAllStringSubmatch(df, -1)
		if len(m) == 0 {
			t.Fatalf("Dockerfile has no %s", name)
		}
		return strings.TrimSpace(m[len(m)-1][1]) // the final stage's
	}
	rc := RunConfigFor()
	if got := directive("USER"); got != rc.User {
		t.Errorf("Dockerfile USER %s, image %s", got, rc.User)
	}
	for name, want := range map[string][]string{"ENTRYPOINT": rc.Entrypoint, "CMD": rc.Cmd} {
		var got []string
		if err := json.Unmarshal([]byte(directive(name)), &got); err != nil {
			t.Fatalf("Dockerfile %s is not exec form: %v", name, err)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("Dockerfile %s %q, image %q", name, got, want)
		}
	}
	if got := directive("EXPOSE"); got+"/tcp" != keysOf(rc.ExposedPorts) {
		t.Errorf("Dockerfile EXPOSE %s, image %v", got, rc.ExposedPorts)
	}
	flat := strings.Join(strings.Fields(strings.ReplaceAll(df, "\\\n", " ")), " ")
	want := "CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags='-s -w' -o /out/ ./cmd/ingest ./cmd/validate"
	if strings.Join(BuildFlags, " ") != "-trimpath -ldflags=-s -w" || !strings.Contains(flat, want) {
		t.Errorf("Dockerfile build step differs from BuildFlags %q: want %q", BuildFlags, want)
	}
}

func keysOf(m map[string]struct{}) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return strings.Join(ks, ",")
}
