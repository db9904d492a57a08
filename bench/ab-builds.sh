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
  port=$((20000 + RANDOM % 40000))
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

declare -A runs
measure() {  # measure <label> <build dir>
  local label=$1 dir=$2
  runs[cycle_$label]+=" $(gbench "$dir/bench/storage_bench" BM_CycleBatch_everysec/16)"
  runs[e2e_$label]+=" $(gbench "$dir/bench/engine_bench" BM_EndToEnd_NoopHandler/1)"
  runs[addjob_$label]+=" $(addjob "$dir")"
}

for round in $(seq "$rounds"); do
  printf '  round %s of %s ...\r' "$round" "$rounds" >&2
  # Alternate which build goes first, so that a drift of the machine hits both alike.
  if [ $((round % 2)) -eq 1 ]; then
    measure before "$before"
    measure after "$after"
  else
    measure after "$after"
    measure before "$before"
  fi
done

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
spread() {  # (max - min) / median of a build's runs, in percent
  tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END {
    m = a[int((NR + 1) / 2)]; if (m > 0) printf "%.0f%%", 100 * (a[NR] - a[1]) / m; else print "-" }'
}
printf '\n%-34s %12s %12s %7s %14s %14s\n' figure "before" "after" ratio "spread before" "spread after"
for key in cycle e2e addjob; do
  case $key in
    cycle) name="storage BM_CycleBatch_everysec/16" ;;
    e2e) name="engine BM_EndToEnd_NoopHandler/1" ;;
    addjob) name="RESP ADDJOB -c 50 -P 16 (req/s)" ;;
  esac
  b=$(echo "${runs[${key}_before]}" | median)
  a=$(echo "${runs[${key}_after]}" | median)
  printf '%-34s %12.0f %12.0f %7s %14s %14s\n' "$name" "$b" "$a" \
    "$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')" \
    "$(echo "${runs[${key}_before]}" | spread)" "$(echo "${runs[${key}_after]}" | spread)"
done
echo
for key in cycle e2e addjob; do
  echo "runs $key before:${runs[${key}_before]}"
  echo "runs $key after: ${runs[${key}_after]}"
done
