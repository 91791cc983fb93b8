# loyaltybridge developer targets. `make` (or `make help`) lists them.
#
# `make test` is THE test command (README, CI): it starts Redis and ClickHouse
# on loopback (deploy/dev/services.sh, installing them from Debian when
# missing), then runs gofmt, go vet, go test -race and a short fuzz pass with
# the services' addresses in LOYALTYBRIDGE_TEST_REDIS / _CLICKHOUSE.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

# Go from the official tarball lives in /usr/local/go/bin (appended, so a Go
# already on PATH wins).
export PATH := $(PATH):/usr/local/go/bin

GO ?= go
GOFMT ?= gofmt
SERVICES := deploy/dev/services.sh
FUZZTIME ?= 10s
COUNT ?= 5
BENCH ?= .

# Prefix for a recipe line that needs the services' addresses.
WITH_SERVICES = eval "$$($(SERVICES) env)";

# Every .go file of the module, tracked or not, outside data/vendor/testdata.
GO_FILES = find . \( -name .git -o -name .data -o -name bin -o -name vendor -o -name testdata -o -name node_modules \) -prune -o -name '*.go' -type f -print0

.PHONY: help
help: ## list the targets (default)
	@echo "usage: make TARGET [FUZZTIME=10s] [COUNT=5] [BENCH=.] [BENCH_FORM=full|quick]"
	@awk 'BEGIN {FS = ":.*?## "} /^[a-zA-Z0-9_-]+:.*?## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/loyaltybridge
	$(GO) build -o bin/loyaltybridge ./cmd/loyaltybridge

.PHONY: demo
demo: ## the demo: services, vendor simulators, a worker, a real sync into ClickHouse
	$(GO) run ./cmd/loyaltybridge demo

.PHONY: services
services: ## start Redis (127.0.0.1:16379) and ClickHouse (127.0.0.1:19000), data in ./.data
	$(SERVICES) up

.PHONY: services-down
services-down: ## stop the services started by `make services`
	$(SERVICES) down

.PHONY: services-status
services-status: ## show whether the services run, their pids and ports
	$(SERVICES) status

.PHONY: test
test: ## THE test command: services, gofmt, go vet, go mod tidy check, go test -race ./..., fuzz-short
	$(SERVICES) up
	$(WITH_SERVICES) $(MAKE) --no-print-directory fmt-check vet tidy-check
	$(WITH_SERVICES) $(GO) test -race -count=1 -timeout 30m ./...
	$(WITH_SERVICES) $(MAKE) --no-print-directory fuzz-short

.PHONY: lint
lint: fmt-check vet ## gofmt check and go vet

.PHONY: fmt-check
fmt-check: ## fail if gofmt would change any file
	@files=$$($(GO_FILES) | xargs -0 -r $(GOFMT) -l); \
	if [[ -n $$files ]]; then \
	  echo "gofmt: these files need formatting (make fmt):" >&2; echo "$$files" >&2; exit 1; \
	fi

.PHONY: fmt
fmt: ## gofmt -w every file
	$(GO_FILES) | xargs -0 -r $(GOFMT) -w

.PHONY: vet
vet: ## go vet ./...
	$(GO) vet ./...

.PHONY: fuzz-short
fuzz-short: ## run every Fuzz target for FUZZTIME (default 10s), one at a time (deploy/dev/fuzz-short.sh)
	GO=$(GO) FUZZTIME=$(FUZZTIME) deploy/dev/fuzz-short.sh

# `make bench` passes BENCH_FORM (full | quick) and the BENCH_* scale knobs
# of deploy/dev/bench.sh through the environment.
BENCH_FORM ?= full
export BENCH_FORM

.PHONY: bench
bench: ## THE benchmark run: every figure of docs/benchmarks.md vs its baseline, rewrites it (BENCH_FORM=quick: minutes)
	$(SERVICES) up
	$(WITH_SERVICES) deploy/dev/bench.sh

.PHONY: gobench
gobench: ## plain go benchmarks, COUNT runs each (default 5), BENCH regexp (default .), services started
	$(SERVICES) up
	$(WITH_SERVICES) $(GO) test -run='^$$' -bench='$(BENCH)' -benchmem -count=$(COUNT) ./...

# The fault-injection suite (docs/reliability.md): its short form runs in
# `make test` (jobs/reliability_*_test.go); this is the long form. It starts
# PRIVATE Redis/ClickHouse servers on free ports (it stops and kills them),
# beside the shared ones that `services` starts.
.PHONY: reliability
reliability: ## fault-injection suite, long form: kill -9, 20 s and 5 min ClickHouse outages, Redis restarts, 2 workers + 2 schedulers, skewed clock
	$(SERVICES) up
	$(WITH_SERVICES) LB_RELIABILITY=long $(GO) test -count=1 -v -timeout 60m -run 'TestReliability' ./jobs/

.PHONY: tidy
tidy: ## go mod tidy
	$(GO) mod tidy

.PHONY: tidy-check
tidy-check: ## fail if go mod tidy would change go.mod/go.sum
	$(GO) mod tidy -diff

.PHONY: clean
clean: ## remove bin/ (the services' data in .data/ stays; `make services-down` then rm -rf .data)
	rm -rf bin

.PHONY: check-deploy
check-deploy: ## check deploy/: systemd-analyze verify, yamllint, docker compose config, manifest tests
	deploy/check.sh
	$(GO) test -count=1 ./deploy/

.PHONY: test-cluster
test-cluster: ## sync into a local two-replica ClickHouse cluster (+ ZooKeeper, temp folder) and compare the replicas
	$(WITH_SERVICES) deploy/dev/cluster.sh run -- $(GO) test -count=1 -v -run 'TestCluster' ./jobs/ ./warehouse/

.PHONY: test-hostile
test-hostile: ## hostile vendor payloads (huge pages, 10 MB fields, endless bodies); 60-90 s, so not in `make test`
	$(SERVICES) up
	$(WITH_SERVICES) $(GO) test -tags hostile -count=1 -run TestHostileVendorPayloads -v ./jobs/
