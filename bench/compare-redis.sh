#!/usr/bin/env bash
# Side-by-side: redis-benchmark against Herald and against a real redis-server started here,
# in the same run, on the same machine, per durability mode. Prints one table with ratios.
#
#   bench/compare-redis.sh [-n REQUESTS] [-m "always everysec"] [-j JOBS] [-q | -w]
#
# For each mode, Herald runs with --fsync MODE and redis-server with appendonly yes,
# appendfsync MODE (`always`: every reply after its write is synced, in both), and:
#   - LPUSH, RPUSH, SET, LPOP at -c 1 -P 50, -c 50 -P 1 and -c 50 -P 16: Herald / Redis;
#   - ADDJOB at the same shapes: Herald at `always` / Herald at `everysec` (rows "addjob");
#   - the worker loop: JOBS jobs added to a paused queue, resumed, timed until none is waiting
#     or active, with 5 `herald worker` threads (remote, over RESP) against the 5 in-process
#     workers, a no-op handler on both: remote / in-process (rows "worker");
#   - `always` only: ADDJOB at 500/s for 10 s, add-to-take delay of `herald worker`
#     (bench/add_to_start), p50 and p99 in ms.
# -q: only the list and string rows (no worker loop, no latency); -w: only the worker loop
# and the latency.
#
# Needs a release build (tools/herald-dev build release) and redis-server/redis-benchmark
# (tools/herald-dev setup).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HERALD_BUILD:-$root/build/release}
herald=$build/tools/herald
probe=$build/bench/add_to_start
requests=100000
modes="always everysec"
jobs=50000
quick=0
workers_only=0
while getopts "n:m:j:qw" opt; do
  case $opt in
    n) requests=$OPTARG ;;
    m) modes=$OPTARG ;;
    j) jobs=$OPTARG ;;
    q) quick=1 ;;
    w) workers_only=1 ;;
    *) exit 2 ;;
  esac
done
[ -x "$herald" ] || { echo "no herald binary at $herald (tools/herald-dev build release)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server missing (tools/herald-dev setup)" >&2; exit 1; }

work=$(mktemp -d /tmp/herald-compare-XXXXXX)
pids=()
# A port nobody answers on (bash's /dev/tcp: nothing else needed).
free_port() {
  local port
  while true; do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  stop_all
  rm -rf "$work"
}
trap cleanup EXIT
wait_ping() {
  for _ in $(seq 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return; sleep 0.05; done
  echo "nothing answers on port $1; the servers' logs end with:" >&2
  tail -n 5 "$work"/*.log >&2 2>/dev/null || true
  exit 1
}

# The queue of the worker loop, with a handler that completes at once, and room for the
# latency probe's jobs among the completed.
cat >"$work/bench.toml" <<'EOF'
[engine]
completed_retention = 100000
[handlers]
queues = { bench = "noop" }
EOF

# rps <port> <clients> <pipeline> <test|custom command...>
rps() {
  local port=$1 clients=$2 pipeline=$3
  shift 3
  local out
  if [ $# -eq 1 ]; then
    out=$(redis-benchmark -p "$port" -n "$requests" -c "$clients" -P "$pipeline" -t "$1" --csv 2>/dev/null)
  else
    out=$(redis-benchmark -p "$port" -n "$requests" -c "$clients" -P "$pipeline" --csv "$@" 2>/dev/null)
  fi
  echo "$out" | awk -F'","' 'NR==2 { gsub(/"/, "", $2); printf "%d", $2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
row() { printf '%-9s %-8s %-12s %12s %12s %7s\n' "$@"; }

# drain_rate <port>: jobs/s of whoever works on queue "bench" at <port>.
drain_rate() {
  local port=$1
  redis-cli -p "$port" QPAUSE bench >/dev/null
  redis-benchmark -p "$port" -n "$jobs" -c 50 -P 16 ADDJOB bench payload >/dev/null 2>&1
  local start end left
  start=$(date +%s.%N)
  redis-cli -p "$port" QRESUME bench >/dev/null
  while true; do
    left=$(redis-cli -p "$port" QSTAT bench | awk 'NR==4 || NR==6 { s += $1 } END { print s }')
    [ "$left" = 0 ] && break
    sleep 0.01
  done
  end=$(date +%s.%N)
  awk -v n="$jobs" -v a="$start" -v b="$end" 'BEGIN { printf "%d", n / (b - a) }'
}

start_herald() {  # <port> <mode> <workers> [args...]
  local port=$1 mode=$2 workers=$3
  shift 3
  rm -rf "$work/herald"
  "$herald" --data-dir "$work/herald" --port "$port" --http-port 0 --fsync "$mode" --workers "$workers" \
    --log-level warn "$@" >>"$work/herald.log" 2>&1 &
  pids+=($!)
  wait_ping "$port"
}

declare -A addjob
shapes=("1 50" "50 1" "50 16")
row mode test shape herald baseline ratio
row ---- ---- ----- ------ -------- -----
for mode in $modes; do
  [ "$workers_only" = 1 ] && break
  redis_port=$(free_port)
  herald_port=$(free_port)
  rm -rf "$work/redis" && mkdir -p "$work/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --save "" \
    --appendonly yes --appendfsync "$mode" --daemonize no >"$work/redis.log" 2>&1 &
  pids+=($!)
  wait_ping "$redis_port"
  start_herald "$herald_port" "$mode" 0
  for shape in "${shapes[@]}"; do
    read -r c p <<<"$shape"
    for test in lpush rpush set lpop; do
      printf '  %s %s -c %s -P %s ...\r' "$mode" "$test" "$c" "$p" >&2
      h=$(rps "$herald_port" "$c" "$p" "$test")
      r=$(rps "$redis_port" "$c" "$p" "$test")
      row "$mode" "$test" "-c$c -P$p" "$h" "$r" "$(ratio "$h" "$r")"
    done
    printf '  %s addjob -c %s -P %s ...\r' "$mode" "$c" "$p" >&2
    addjob[$mode,$shape]=$(rps "$herald_port" "$c" "$p" ADDJOB bench payload)
  done
  stop_all
done
for shape in "${shapes[@]}"; do
  read -r c p <<<"$shape"
  a=${addjob[always,$shape]:-}
  e=${addjob[everysec,$shape]:-}
  [ -n "$a" ] && [ -n "$e" ] && row always addjob "-c$c -P$p" "$a" "$e (everysec)" "$(ratio "$a" "$e")"
done
[ "$quick" = 1 ] && exit 0

for mode in $modes; do
  port=$(free_port)
  printf '  %s worker loop, in-process ...\r' "$mode" >&2
  start_herald "$port" "$mode" 5 --config "$work/bench.toml"
  local_rate=$(drain_rate "$port")
  stop_all
  printf '  %s worker loop, herald worker ...\r' "$mode" >&2
  start_herald "$port" "$mode" 0 --config "$work/bench.toml"
  "$herald" --config "$work/bench.toml" --data-dir "$work/worker" --log-level warn --workers 5 worker \
    --connect "127.0.0.1:$port" >>"$work/worker.log" 2>&1 &
  pids+=($!)
  remote_rate=$(drain_rate "$port")
  row "$mode" worker "5 threads" "$remote_rate" "$local_rate (local)" "$(ratio "$remote_rate" "$local_rate")"
  if [ "$mode" = always ] && [ -x "$probe" ]; then
    printf '  always add-to-take at 500/s ...\r' >&2
    "$probe" --port "$port" --queue bench --rate 500 --seconds 10 2>/dev/null |
      awk -v m="$mode" 'NR==2 { printf "%-9s %-8s %-12s %12s %12s %7s\n", m, "latency", "500/s", "p50 " $2 " ms", "p99 " $4 " ms", "max " $5 }'
  fi
  stop_all
done
