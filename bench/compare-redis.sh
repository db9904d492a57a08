#!/usr/bin/env bash
# Side-by-side: redis-benchmark against Herald and against a real redis-server started here,
# in the same run, on the same machine. Prints a table with Herald/Redis ratios.
#
#   bench/compare-redis.sh [-n REQUESTS] [-c CLIENTS]
#
# Herald runs with fsync=everysec; redis-server with appendonly yes, appendfsync everysec, so
# both persist every write and sync once a second. Needs a release build (tools/herald-dev
# build release) and redis-server/redis-benchmark (tools/herald-dev setup).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
herald=${HERALD_BIN:-$root/build/release/tools/herald}
requests=200000
clients=50
while getopts "n:c:" opt; do
  case $opt in
    n) requests=$OPTARG ;;
    c) clients=$OPTARG ;;
    *) exit 2 ;;
  esac
done
[ -x "$herald" ] || { echo "no herald binary at $herald (tools/herald-dev build release)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server missing (tools/herald-dev setup)" >&2; exit 1; }

work=$(mktemp -d /tmp/herald-compare-XXXXXX)
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
redis_port=$(free_port)
herald_port=$(free_port)
cleanup() {
  [ -n "${redis_pid:-}" ] && kill "$redis_pid" 2>/dev/null || true
  [ -n "${herald_pid:-}" ] && kill "$herald_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --save "" \
  --appendonly yes --appendfsync everysec --daemonize no >"$work/redis.log" 2>&1 &
redis_pid=$!
"$herald" --data-dir "$work/herald" --port "$herald_port" --fsync everysec --workers 0 \
  --log-level warn >"$work/herald.log" 2>&1 &
herald_pid=$!
for port in "$redis_port" "$herald_port"; do
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
done

# rps <port> <pipeline> <test|custom command...>
rps() {
  local port=$1 pipeline=$2
  shift 2
  local out
  if [ $# -eq 1 ]; then
    out=$(redis-benchmark -p "$port" -n "$requests" -c "$clients" -P "$pipeline" -t "$1" --csv 2>/dev/null)
  else
    out=$(redis-benchmark -p "$port" -n "$requests" -c "$clients" -P "$pipeline" --csv "$@" 2>/dev/null)
  fi
  echo "$out" | awk -F'","' 'NR==2 { gsub(/"/, "", $2); print $2 }'
}

printf '%-10s %3s %14s %14s %8s\n' test P "herald rps" "redis rps" ratio
printf '%-10s %3s %14s %14s %8s\n' ---- - ---------- --------- -----
for pipeline in 1 16; do
  for test in ping set get lpush rpush lpop rpop; do
    printf '  %s P=%s ...\r' "$test" "$pipeline" >&2
    h=$(rps "$herald_port" "$pipeline" "$test")
    r=$(rps "$redis_port" "$pipeline" "$test")
    printf '%-10s %3s %14s %14s %8s\n' "$test" "$pipeline" "$h" "$r" \
      "$(awk -v h="$h" -v r="$r" 'BEGIN { if (r > 0) printf "%.2f", h / r; else print "-" }')"
  done
done
printf '  addjob ...\r' >&2
h=$(rps "$herald_port" 16 ADDJOB bench payload)
printf '%-10s %3s %14s %14s %8s\n' addjob 16 "$h" "-" "-"
