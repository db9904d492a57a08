#!/usr/bin/env bash
# Two builds of Herald on the postgres store backend, run alternately in one sitting:
# herald-bench cycle (producers and workers looping GETJOB ... ACK) with 5 and 50 workers, and
# herald-bench add. One PostgreSQL server started here (initdb; fsync and synchronous_commit
# on, PostgreSQL's other defaults), a fresh database for each run. Prints each figure's runs,
# medians and the after/before ratio, and the spread between runs of one build.
#
#   bench/ab-postgres.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR [ROUNDS] [JOBS]
#
# A build dir holds tools/herald and tools/herald-bench (tools/herald-dev build release herald
# herald-bench). ROUNDS defaults to 3, JOBS (per run) to 20000.
set -euo pipefail
. "$(dirname "$0")/ab-common.sh"
before=$1
after=$2
rounds=${3:-3}
jobs=${4:-20000}
for dir in "$before" "$after"; do
  for bin in tools/herald tools/herald-bench; do
    [ -x "$dir/$bin" ] || { echo "missing $dir/$bin" >&2; exit 1; }
  done
done
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$pg_bin" ] || { echo "no PostgreSQL under /usr/lib/postgresql (tools/herald-dev setup)" >&2; exit 1; }
command -v redis-cli >/dev/null || { echo "redis-cli missing (tools/herald-dev setup)" >&2; exit 1; }

work=$(mktemp -d /tmp/herald-ab-pg-XXXXXX)
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  chmod o+x "$(dirname "$work")"
  chown postgres:postgres "$work"
  as_owner=(setpriv --reuid=postgres --regid=postgres --init-groups)
fi
pg_pid=
herald_pid=
cleanup() {
  [ -n "$herald_pid" ] && kill "$herald_pid" 2>/dev/null || true
  [ -n "$pg_pid" ] && kill -INT "$pg_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"${as_owner[@]}" "$pg_bin/initdb" -D "$work/data" -U herald --auth=trust -E UTF8 >"$work/initdb.log" 2>&1
# A random port may be taken: another one then, up to five times.
for try in 1 2 3 4 5; do
  pg_port=$(ab_free_port)
  "${as_owner[@]}" "$pg_bin/postgres" -D "$work/data" -p "$pg_port" -k "$work" \
    -c listen_addresses=127.0.0.1 >"$work/postgres.log" 2>&1 &
  pg_pid=$!
  for _ in $(seq 100); do
    "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && break 2
    kill -0 "$pg_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -INT "$pg_pid" 2>/dev/null || true
  wait "$pg_pid" 2>/dev/null || true
  pg_pid=
  if [ "$try" -eq 5 ]; then
    echo "PostgreSQL did not start:" >&2
    cat "$work/postgres.log" >&2
    exit 1
  fi
done
psql() { "$pg_bin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U herald -d postgres "$@"; }

# One herald-bench scenario against a fresh herald of build $1 on a fresh database: jobs/s.
# (Runs in a command substitution: nothing it sets outlives it.)
run() {
  local dir=$1 port db
  shift
  db="bench_$(date +%s%N)"
  psql -c "create database $db" >/dev/null
  port=$(ab_free_port)
  "$dir/tools/herald" --store-conninfo "host=127.0.0.1 port=$pg_port user=herald dbname=$db" \
    --store-node bench --data-dir "$work/herald-$db" --port "$port" --http-port 0 --workers 0 \
    --log-level warn >"$work/herald.log" 2>&1 &
  herald_pid=$!
  for _ in $(seq 200); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  "$dir/tools/herald-bench" "$@" --jobs "$jobs" --connect "127.0.0.1:$port" --json 2>/dev/null |
    sed -n 's/.*"per_second": *\([0-9.eE+-]*\).*/\1/p' | awk 'NR == 1 { print $1 + 0 }'
  kill "$herald_pid"
  wait "$herald_pid" 2>/dev/null || true
  herald_pid=
}

measure() {  # measure <label> <build dir>
  local label=$1 dir=$2
  runs[cycle5_$label]+=" $(run "$dir" cycle --connections 1 --depth 50 --workers 5)"
  runs[cycle50_$label]+=" $(run "$dir" cycle --connections 1 --depth 50 --workers 50)"
  runs[add_$label]+=" $(run "$dir" add --connections 1 --depth 50)"
}

ab_rounds "$rounds" "$before" "$after"
ab_table 30 "cycle5:cycle, 5 workers (jobs/s)" "cycle50:cycle, 50 workers (jobs/s)" \
  "add:add, 1 x 50 in flight (jobs/s)"
