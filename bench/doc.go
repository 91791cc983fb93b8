// Package bench holds the `make bench` harness: bench_test.go (build tag
// bench) runs every scenario of docs/benchmarks.md side by side with its
// baseline and rewrites that file's generated section. It is a test-only
// harness, not part of the binary:
//
//	deploy/dev/bench.sh            # what `make bench` runs
//	go test -tags bench -run TestBench -v -timeout 4h ./bench/
//
// Scale knobs are environment variables (BENCH_*, see bench_test.go and
// docs/benchmarks.md).
package bench
