#!/usr/bin/env bash
# The `make bench` harness: every figure of docs/benchmarks.md in one run,
# side by side with its baseline, written into that file's generated section.
#
#   make bench                      the full form (the one docs/benchmarks.md holds)
#   make bench BENCH_FORM=quick     the same scenarios, small: a few minutes
#   BENCH_ONLY='e2e|loader' make bench   some scenarios only (regexp of e2e, loader, memory, rate, cost, outbound)
#
# It installs jq, curl and clickhouse-client from Debian when missing
# (idempotent), then runs the test-only harness bench/bench_test.go
# (`go test -tags bench`), which builds the binary, runs the vendor
# simulators in-process and `loyaltybridge worker` / `sync` as processes,
# and stops everything it started. It needs the servers' addresses in
# LOYALTYBRIDGE_TEST_CLICKHOUSE and LOYALTYBRIDGE_TEST_REDIS (`make bench`
# starts deploy/dev/services.sh and exports them).
#
# Scale knobs (defaults: full form; quick form in brackets):
#   BENCH_E2E_MEMBERS   100000 [10000]   end-to-end members sync (and the first memory point)
#   BENCH_MEM_MEMBERS   1000000 [100000] second memory point (0: skip)
#   BENCH_LOADER_ROWS   1000000 [100000] loader vs clickhouse-client Native
#   BENCH_LOADER_BATCH  0 [0]            rows per insert (0: as many as the end-to-end sync inserted per insert)
#   BENCH_RATE_MEMBERS  3000 [1000]      members read at 50 requests/s (about 60 s [20 s])
#   BENCH_COST_MEMBERS  2000 [500]       DM Hub members of the vendor-cost and incremental runs
#   BENCH_OUTBOUND_N    3000 [1000]      writes per outbound sub-benchmark
#   BENCH_DOC           docs/benchmarks.md ("" with the quick form: print only)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$root"
export PATH=$PATH:/usr/local/go/bin

: "${LOYALTYBRIDGE_TEST_CLICKHOUSE:?not set: run make bench (it starts the services and exports their addresses)}"
: "${LOYALTYBRIDGE_TEST_REDIS:?not set: run make bench (it starts the services and exports their addresses)}"

missing=()
for tool in jq curl clickhouse-client; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
  echo "bench: installing ${missing[*]} (apt-get)" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
fi

export BENCH_FORM=${BENCH_FORM:-full}
case $BENCH_FORM in
  full)
    export BENCH_DOC=${BENCH_DOC-$root/docs/benchmarks.md} ;;
  quick)
    export BENCH_E2E_MEMBERS=${BENCH_E2E_MEMBERS:-10000} BENCH_MEM_MEMBERS=${BENCH_MEM_MEMBERS:-100000}
    export BENCH_LOADER_ROWS=${BENCH_LOADER_ROWS:-100000} BENCH_RATE_MEMBERS=${BENCH_RATE_MEMBERS:-1000}
    export BENCH_COST_MEMBERS=${BENCH_COST_MEMBERS:-500} BENCH_OUTBOUND_N=${BENCH_OUTBOUND_N:-1000}
    export BENCH_DOC=${BENCH_DOC-} ;;
  *)
    echo "bench: BENCH_FORM=$BENCH_FORM: want full or quick" >&2; exit 2 ;;
esac
if [[ -n $BENCH_DOC && $BENCH_DOC != /* ]]; then BENCH_DOC=$root/$BENCH_DOC; fi

start=$(date +%s)
go test -tags bench -count=1 -run '^TestBench$' -v -timeout 6h ./bench/
echo "bench: $BENCH_FORM form done in $(( $(date +%s) - start )) s${BENCH_DOC:+; results in $BENCH_DOC}"
