# logarchive — see README.md. `make demo` and `make test` are the two commands a newcomer needs.
GO      ?= go
DEMO    ?= demo
SEED    ?= 1
FUZZTIME ?= 5s

.PHONY: demo test test-unit fuzz bench build clean tools

build:
	$(GO) build -o bin/ ./cmd/... ./bench/synth

# A small synthetic org Log Archive on local disk, ingested to Parquet and validated offline.
demo: build
	./scripts/demo.sh "$(DEMO)" "$(SEED)"

# Everything CI runs: vet, the race-enabled unit and integration tests (moto_server), short fuzzing.
test:
	./scripts/test.sh

fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./bench/... ./pkg/...

clean:
	rm -rf bin $(DEMO)
