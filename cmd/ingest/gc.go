package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"time"
)

// ingest allocates a lot of short-lived memory (decoded records, rows, encoder scratch) against a
// live heap that is often small (50-70 MiB on CloudTrail and a 1 GiB VPC flow object). At Go's
// default GOGC of 100 the collector then runs every 50-70 MiB allocated: 7-10 % of the CPU of a
// CloudTrail run. A fixed higher GOGC would grow every heap by the same factor, and the 1 GiB flow
// object's peak resident set with it (174 MiB at 100, 240 MiB at 150, 291 MiB at 200: over the
// 256 MiB target). So the collector is given headroom in bytes instead: the heap may grow by
// max(live, gcHeadroom) between collections, i.e. GOGC = 100 × max(1, gcHeadroom/live). Small
// heaps collect less often, by at most gcHeadroom more memory; heaps of gcHeadroom and beyond are
// collected exactly as by default. Not more than 64 MiB: with 96 MiB the 1 GiB flow object peaked
// at 256-259 MiB (target 256) against 216 MiB at 64, and CloudTrail's CPU was no lower (1 core,
// alternated runs at 9e48e5e: 1.64/1.56/1.77 s at 64 MiB, 2.26/1.70/1.94 s at 96 MiB). 48 MiB
// since 60d1a68 (Resolver rows' blocks recycled) and the tuner acting from the start: a Resolver
// run allocates ~70 MB in all, and still collects once, at ~46 MiB instead of ~61, so it touches
// ~15 MiB less fresh memory (each new page is a fault). Alternated runs on one core, median
// task-clock, 64 -> 48 MiB: Resolver 15 triples 721.2 -> 697.0 ms (median pair -17.2 ms, 12 of 15
// lower; 40 MiB: -12.1 ms), page faults 15.9k -> 13.4k; CloudTrail 10 pairs 1048.5 -> 1013.2 ms
// (median pair -30.8 ms), faults 26.2k -> 22.2k; flow-default 5 pairs 3538.6 -> 3592.7 ms (median
// pair -31.0 ms: noise); 1 GiB flow object peak RSS 150/149 -> 142/142 MiB (1/2 workers).
//
// More headroom for two workers does not pay either. Their live heap is about twice one worker's
// (each file of a partition in the making holds its own rows and writer buffers), so GOGC falls
// to 100 and the collector takes ~0.05 s more CPU on CloudTrail, 0.17 s on flow-default; but
// what a larger heap saves in collections it pays in page faults and cache misses. Tried at
// 3474ca4-3d7ae12, alternated runs, mean CPU s at two workers: headroom 64 MiB × GOMAXPROCS,
// CloudTrail 1.360 -> 1.366 (RSS 144 -> 190 MiB), flow-default 4.48 -> 4.37 (285 -> 302 MiB);
// headroom doubled while the collector's share of the CPU is over 5 %, CloudTrail 1.49 ->
// 1.51, flow-default 4.63 -> 4.95; GOGC=400 on CloudTrail 1.53 -> 1.46 at 217-231 MiB.
const gcHeadroom = 48 << 20

// gcMaxPercent bounds the GOGC the tuner sets (a near-empty heap would otherwise ask for
// thousands). A fresh process's first collection comes at Go's heap minimum, 4 MiB × GOGC/100:
// at gcMaxPercent, after gcHeadroom, as for any other heap. At 400 a Resolver run collected at 4
// and 16 MiB before its heap had grown, for nothing: the tuner only acts after a collection, and
// then set 400 (live ~3 MiB). 1600 (with 64 MiB of headroom) and setting it before the first
// collection left one collection per run instead of three: A/B on the Resolver benchmark, one
// core, task-clock median 708.7 -> 700.9 ms over 35 pairs (median pair -7.2 ms, 24 of 35 lower), page
// faults 17.6k -> 15.9k; CloudTrail 10 pairs 1081.8 -> 1071.8 ms. Peak RSS of the 1 GiB flow object
// 150/162 -> 159/157 MiB (1/2 workers), CloudTrail 123/116 -> 126/128 MiB.
const gcMaxPercent = 100 * gcHeadroom / (4 << 20)

// hugeReserve is how much heap hugeHeap grows at start: 128 MiB, about the peak heap of two
// workers (live heap plus gcHeadroom), or half a small memory budget (it is address space, but
// the runtime counts it against the soft memory limit until the scavenger returns it). 64 MiB
// covered one worker: CloudTrail with two workers still took 6.3k page faults, 3.2k at 128 MiB;
// one core was the same (task-clock medians 1250.6 / 1254.0 ms, 4.7k / 2.6k faults).
func hugeReserve(budget int64) int {
	return int(min(128<<20, max(budget/2, 0)))
}

// gcPolicy is how tuneGC sets the collector: Tune turns the headroom tuner on, Limit is the soft
// memory limit (-1: left as it is).
type gcPolicy struct {
	Tune  bool
	Limit int64
}

// gcPolicyFor derives the collector's settings from the sink's memory budget and the container's
// memory limit (0 when there is none). GOGC and GOMEMLIMIT, when set, win: the runtime has
// already applied them and they are left alone.
//
// The soft limit is a ceiling, not a target: the sink keeps its buffered rows (estimated) under the
// budget, so the live heap stays near it at worst; twice the budget plus room for decoders and
// writers lets the collector run at its own pace until then, and past it collects harder rather
// than let the heap grow out of the container. In a container the limit is at most three quarters
// of the container's memory, the rest being for what the runtime does not manage (the binary,
// spool files in the page cache, thread stacks).
func gcPolicyFor(getenv func(string) string, budget, container int64) gcPolicy {
	p := gcPolicy{Tune: getenv("GOGC") == "", Limit: -1}
	if getenv("GOMEMLIMIT") == "" {
		p.Limit = 2*max(budget, 0) + 256<<20
		if container > 0 {
			p.Limit = min(p.Limit, container/4*3)
		}
	}
	return p
}

// gcPercentFor is the GOGC that lets a heap of live bytes grow by max(live, gcHeadroom).
func gcPercentFor(live uint64) int {
	if live == 0 {
		return gcMaxPercent
	}
	return int(min(max(100, 100*gcHeadroom/live), gcMaxPercent))
}

// tuneGC sets the collector for one command run (gcPolicyFor) and returns the function that stops
// the tuner and puts the collector back as it was (commands also run inside the tests' process).
func tuneGC(ctx context.Context, log *slog.Logger, budget int64) (stop func()) {
	container := containerMemoryLimit("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
	p := gcPolicyFor(os.Getenv, budget, container)
	restoreLimit := func() {}
	if p.Limit >= 0 {
		prev := debug.SetMemoryLimit(p.Limit)
		restoreLimit = func() { debug.SetMemoryLimit(prev) }
	}
	huge := hugeHeap(os.Getenv("GODEBUG"), hugeReserve(budget))
	log.Debug("garbage collector", "headroom_tuner", p.Tune, "memory_limit", p.Limit, "container_limit", container,
		"memory_budget", budget, "huge_pages", huge)
	if !p.Tune && !huge {
		return restoreLimit
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	if p.Tune {
		// From the start, not only after the first collection (the live heap reads 0 before it).
		debug.SetGCPercent(gcPercentFor(liveHeap()))
	}
	go func() {
		defer close(done)
		runGCTuner(ctx, p.Tune, huge)
	}()
	return func() {
		cancel()
		<-done
		if p.Tune {
			debug.SetGCPercent(100)
		}
		restoreLimit()
	}
}

// runGCTuner sets GOGC from the live heap after every collection (tune) and advises huge pages for
// the heap whenever the runtime has mapped more memory (huge), until ctx ends. It polls the
// runtime's counters (a read costs about a microsecond); collections here are tens of
// milliseconds or more apart.
func runGCTuner(ctx context.Context, tune, huge bool) {
	samples := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/live:bytes"},
		{Name: "/gc/gogc:percent"}, {Name: "/memory/classes/total:bytes"}}
	var cycles, mapped uint64
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(samples)
		for _, s := range samples {
			if s.Value.Kind() != metrics.KindUint64 {
				return // not this runtime's metrics: leave GOGC as it is
			}
		}
		if m := samples[3].Value.Uint64(); huge && m > mapped {
			mapped = m
			huge = adviseHugePages() == nil
		}
		if !tune {
			continue
		}
		if c := samples[0].Value.Uint64(); c == cycles {
			continue
		} else {
			cycles = c
		}
		if p := gcPercentFor(samples[1].Value.Uint64()); uint64(p) != samples[2].Value.Uint64() {
			debug.SetGCPercent(p)
		}
	}
}

// liveHeap is the live heap as of the last collection (0 before the first).
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// containerMemoryLimit returns the memory limit of the process's cgroup from the first of files
// that exists (cgroup v2's memory.max, v1's memory.limit_in_bytes), or 0 when there is none
// ("max", or v1's huge "unlimited" value).
func containerMemoryLimit(files ...string) int64 {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
		// cgroup v1 says "no limit" with the largest page-aligned int64.
		if err != nil || n <= 0 || n >= 1<<62 {
			return 0
		}
		return n
	}
	return 0
}
