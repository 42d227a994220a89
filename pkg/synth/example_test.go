package synth_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/logarchive/logarchive/pkg/store"
	"github.com/logarchive/logarchive/pkg/synth"
)

// Generate a tampered demo archive into a local mirror of S3, with its keys file, and find the
// scenario's SwitchRole event.
func ExampleGenerate() {
	dir, err := os.MkdirTemp("", "archive")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	opts := synth.DefaultOptions(1)
	opts.Tamper = []synth.TamperKind{synth.TamperModifyLog, synth.TamperDeleteDigest}
	m, err := synth.Generate(context.Background(), store.NewLocal(dir), opts)
	if err != nil {
		log.Fatal(err)
	}
	keys, err := synth.MarshalPublicKeys(m.PublicKeys)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "public-keys.json"), keys, 0o644); err != nil {
		log.Fatal(err)
	}
	for _, ev := range m.Events(synth.ScenarioSwitchRole) {
		fmt.Println(ev.EventName, "in", ev.Key)
	}
	for _, tp := range m.Tampered {
		fmt.Println(tp.Kind, tp.Key)
	}
}
