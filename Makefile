# loyaltybridge developer targets. `make help` lists them.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

SERVICES := deploy/dev/services.sh
FUZZTIME ?= 10s
COUNT ?= 5
# the services' addresses, exported for the integration tests
TEST_ENV = eval "$$($(SERVICES) env)"

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/loyaltybridge
	go build -o bin/loyaltybridge ./cmd/loyaltybridge

.PHONY: demo
demo: ## the demo: services, simulators, a worker, a real sync into ClickHouse
	go run ./cmd/loyaltybridge demo

.PHONY: services
services: ## start Redis and ClickHouse on loopback (installs them from Debian when missing)
	$(SERVICES) up

.PHONY: services-down
services-down: ## stop the services started by `make services`
	$(SERVICES) down

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...

.PHONY: test
test: services lint ## THE test command: services, gofmt, vet, go test -race, a short fuzz pass
	$(TEST_ENV); go test -race -count=1 -timeout 30m ./...
	$(MAKE) --no-print-directory fuzz-short

.PHONY: fuzz-short
fuzz-short: ## run every Fuzz target for FUZZTIME (default 10s)
	@for pkg in $$(go list ./...); do \
	  dir=$$(go list -f '{{.Dir}}' $$pkg); \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    go test -run='^$$' -fuzz="^$$f\$$" -fuzztime=$(FUZZTIME) $$pkg >/tmp/fuzz-$$f.log 2>&1 || { cat /tmp/fuzz-$$f.log; exit 1; }; \
	    tail -n 1 /tmp/fuzz-$$f.log; \
	  done; \
	done

.PHONY: bench
bench: services ## benchmarks, COUNT runs each, side by side with their baselines
	$(TEST_ENV); go test -run='^$$' -bench=. -benchmem -count=$(COUNT) ./...

.PHONY: tidy
tidy: ## go mod tidy, failing if it changes anything
	go mod tidy && git diff --exit-code go.mod go.sum
