package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestGCPolicy(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	const gib = 1 << 30
	for _, tc := range []struct {
		name              string
		getenv            func(string) string
		budget, container int64
		want              gcPolicy
	}{
		{"defaults, no container", env(), gib, 0, gcPolicy{Tune: true, Limit: 2*gib + 256<<20}},
		{"2 GiB container caps the limit", env(), gib, 2 * gib, gcPolicy{Tune: true, Limit: 3 * gib / 2}},
		{"4 GiB container, budget's limit is lower", env(), gib, 4 * gib, gcPolicy{Tune: true, Limit: 2*gib + 256<<20}},
		{"GOGC set: no tuner", env("GOGC", "100"), gib, 0, gcPolicy{Tune: false, Limit: 2*gib + 256<<20}},
		{"GOMEMLIMIT set: limit untouched", env("GOMEMLIMIT", "1GiB"), gib, 2 * gib, gcPolicy{Tune: true, Limit: -1}},
		{"both set: nothing", env("GOGC", "off", "GOMEMLIMIT", "1GiB"), gib, 0, gcPolicy{Tune: false, Limit: -1}},
	} {
		if got := gcPolicyFor(tc.getenv, tc.budget, tc.container); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	// The heap may grow by max(live, gcHeadroom): GOGC 100 from gcHeadroom up, more below, bounded.
	for live, want := range map[uint64]int{0: gcMaxPercent, 1 << 20: gcMaxPercent, gcHeadroom / 2: 200, gcHeadroom: 100, 4 * gcHeadroom: 100} {
		if got := gcPercentFor(live); got != want {
			t.Errorf("live %d: GOGC %d, want %d", live, got, want)
		}
	}
}

func TestContainerMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	v2, v2max := write("v2", "2147483648\n"), write("v2max", "max\n")
	v1, v1none := write("v1", "4294967296\n"), write("v1none", "9223372036854771712\n")
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		files []string
		want  int64
	}{
		{[]string{v2, v1}, 2 << 30},
		{[]string{v2max, v1}, 0}, // v2 says no limit: v1's file is not consulted
		{[]string{missing, v1}, 4 << 30},
		{[]string{missing, v1none}, 0},
		{[]string{missing}, 0},
	} {
		if got := containerMemoryLimit(tc.files...); got != tc.want {
			t.Errorf("%v: %d, want %d", tc.files, got, tc.want)
		}
	}
}

func gogc() uint64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// The tuner sets GOGC for the live heap at once, before the next collection: a fresh process's
// first collection would otherwise come at 4 MiB.
func TestGCTunerStartsAtOnce(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	runtime.GC() // the test binary's live heap is far below gcHeadroom
	stop := tuneGC(context.Background(), slog.New(slog.DiscardHandler), 1<<30)
	defer stop()
	if got, want := gogc(), uint64(gcPercentFor(liveHeap())); got != want || got <= 100 {
		t.Errorf("GOGC %d when the tuner starts, want %d (live heap %d bytes)", got, want, liveHeap())
	}
}

// The tuner raises GOGC for a small live heap after a collection, and stopping it puts the
// collector back as it was.
func TestGCTunerFollowsTheLiveHeap(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	stop := tuneGC(context.Background(), slog.New(slog.DiscardHandler), 1<<30)
	// What the tuner set at start is put back to the default: the tuner must raise it again
	// after the next collections.
	debug.SetGCPercent(100)
	deadline := time.Now().Add(10 * time.Second)
	for gogc() == 100 && time.Now().Before(deadline) {
		runtime.GC() // the test binary's live heap is far below gcHeadroom
		time.Sleep(20 * time.Millisecond)
	}
	if got := gogc(); got <= 100 {
		t.Errorf("GOGC %d after collections of a small heap, want more than 100", got)
	}
	stop()
	if got := gogc(); got != 100 {
		t.Errorf("GOGC %d after stop, want 100", got)
	}
}
