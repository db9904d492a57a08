#!/usr/bin/env bash
# Two builds of Herald side by side, run alternately in one sitting, for a change that must not
# cost speed (a restructure, a refactor): the batched store cycle, the engine's end-to-end
# no-op rate, and RESP ADDJOB pipelined. Prints each figure's runs, medians and the after/before
# ratio, and the spread between runs of one build (the noise to read the ratios against).
#
#   bench/ab-builds.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR [ROUNDS]
#
# A build dir holds bench/storage_bench, bench/engine_bench and tools/herald (release builds:
# tools/herald-dev build release). ROUNDS defaults to 5.
set -euo pipefail
. "$(dirname "$0")/ab-common.sh"
before=$1
after=$2
rounds=${3:-5}
for dir in "$before" "$after"; do
  for bin in bench/storage_bench bench/engine_bench tools/herald; do
    [ -x "$dir/$bin" ] || { echo "missing $dir/$bin" >&2; exit 1; }
  done
done
command -v redis-benchmark >/dev/null || { echo "redis-benchmark missing (tools/herald-dev setup)" >&2; exit 1; }

work=$(mktemp -d /tmp/herald-ab-XXXXXX)
herald_pid=
cleanup() {
  [ -n "$herald_pid" ] && kill "$herald_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# items_per_second of one benchmark (its first row; names gain "/real_time"), as a number.
gbench() {
  local bin=$1 filter=$2
  "$bin" --benchmark_filter="^${filter}(/|\$)" --benchmark_min_time=2 --benchmark_format=csv \
    2>/dev/null | awk -F, '/^"BM_/ { print $7 + 0; exit }'
}

# ADDJOB requests/s against a fresh herald of build $1 (everysec, no workers).
addjob() {
  local dir=$1 port
  port=$(ab_free_port)
  rm -rf "$work/data"
  "$dir/tools/herald" --data-dir "$work/data" --port "$port" --http-port 0 --fsync everysec --workers 0 \
    --log-level warn >"$work/herald.log" 2>&1 &
  herald_pid=$!
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-benchmark -p "$port" -n 300000 -c 50 -P 16 --csv ADDJOB bench payload 2>/dev/null |
    awk -F'","' 'NR==2 { gsub(/"/, "", $2); print $2 + 0 }'
  kill "$herald_pid"
  wait "$herald_pid" 2>/dev/null || true
  herald_pid=
}

measure() {  # measure <label> <build dir>
  local label=$1 dir=$2
  runs[cycle_$label]+=" $(gbench "$dir/bench/storage_bench" BM_CycleBatch_everysec/16)"
  runs[e2e_$label]+=" $(gbench "$dir/bench/engine_bench" BM_EndToEnd_NoopHandler/1)"
  runs[addjob_$label]+=" $(addjob "$dir")"
}

ab_rounds "$rounds" "$before" "$after"
ab_table 34 "cycle:storage BM_CycleBatch_everysec/16" "e2e:engine BM_EndToEnd_NoopHandler/1" \
  "addjob:RESP ADDJOB -c 50 -P 16 (req/s)"
