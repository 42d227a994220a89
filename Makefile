# logarchive — see README.md. `make demo` and `make test` are the two commands a newcomer needs.
GO      ?= go
DEMO    ?= demo
SEED    ?= 1
FUZZTIME ?= 5s
BENCH_MODE ?= full

.PHONY: demo test test-unit soak fuzz bench bench-micro build clean tools image

build:
	$(GO) build -o bin/ ./cmd/... ./bench/synth

# A small synthetic org Log Archive on local disk, ingested to Parquet and validated offline, beside a
# tampered copy whose validation catches the deleted log, the modified log and the deleted digest.
demo: build
	./scripts/demo.sh "$(DEMO)" "$(SEED)"

# Everything CI runs: vet, the race-enabled unit and integration tests (moto_server), short fuzzing.
test:
	./scripts/test.sh

# The crash and cost soaks at their acceptance scale (20 kill -9s per output format with metrics
# checked, 1,000 objects for the request budget): make test runs the same tests at a smaller scale.
soak:
	./scripts/tools.sh
	LOGARCHIVE_SOAK=1 $(GO) test -race -count=1 -timeout 40m -run 'Kill9|RequestBudget' -v ./cmd/ingest

fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

# The end-to-end benchmark of issue 10 (bench/e2e): ingest local vs gzip -dc and DuckDB on the same
# synthetic archives; full mode writes bench/RESULTS.md and the README's performance table (~15 min).
bench:
	./bench/e2e/duckdb/install.sh
	if [ "$(BENCH_MODE)" = full ]; then $(GO) run ./bench/e2e --mode full --readme README.md; \
	else $(GO) run ./bench/e2e --mode $(BENCH_MODE); fi

# The per-package micro-benchmarks (decoders, filters, writer), each with its in-run baseline.
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem ./bench/... ./pkg/...

# The container image as an OCI image layout tarball, without a Docker daemon: static binaries for
# every platform, CA bundle, user 65532 (see Dockerfile for the same with docker buildx). Push with
# e.g. skopeo copy --all oci-archive:bin/logarchive.oci.tar docker://<registry>/logarchive:<tag>
PLATFORMS ?= linux/amd64,linux/arm64
IMAGE_TAG ?= latest
image:
	$(GO) run ./deploy/image --out bin/logarchive.oci.tar --platforms $(PLATFORMS) --tag $(IMAGE_TAG) --work bin/image

clean:
	rm -rf bin $(DEMO)
