#!/usr/bin/env bash
# Two herald binaries side by side, run alternately in one sitting: RESP ADDJOB requests/s
# (redis-benchmark -c 50 -P 16, no workers) and the add + complete rate of 5 local workers on
# a noop queue. For a change to what every job change costs (job events, record sizes).
#
#   bench/ab-http.sh BEFORE_HERALD AFTER_HERALD [ROUNDS] [FSYNC]
#
# ROUNDS defaults to 4, FSYNC to everysec. Prints each run; compare medians.
set -euo pipefail
before=$1
after=$2
rounds=${3:-4}
mode=${4:-everysec}
port=16400
work=$(mktemp -d /tmp/herald-ab-http-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
printf '[handlers]\nqueues = { bench = "noop" }\n' > "$work/noop.toml"

start() {  # binary, workers
  rm -rf "$work/data"
  "$1" --data-dir "$work/data" --port "$port" --http-port 0 --fsync "$mode" --workers "$2" \
    --config "$work/noop.toml" --log-level warn >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && return; sleep 0.1; done
  echo "herald did not start" >&2
  exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

for round in $(seq 1 "$rounds"); do
  for side in before after; do
    bin=$before
    [ "$side" = after ] && bin=$after
    start "$bin" 0
    rps=$(redis-benchmark -p "$port" -c 50 -P 16 -n 300000 -q ADDJOB bench x 2>/dev/null |
      grep -o '[0-9.]* requests per second' | awk '{print $1}')
    stop
    start "$bin" 5
    t0=$(date +%s.%N)
    redis-benchmark -p "$port" -c 50 -P 16 -n 200000 -q ADDJOB bench x >/dev/null 2>&1
    while true; do
      stat=$(redis-cli -p "$port" QSTAT bench | tr '\n' ' ')
      waiting=$(echo "$stat" | awk '{print $4}')
      active=$(echo "$stat" | awk '{print $6}')
      [ "$waiting" = 0 ] && [ "$active" = 0 ] && break
      sleep 0.05
    done
    t1=$(date +%s.%N)
    stop
    printf '%-6s round %d  addjob %8.0f req/s  add+complete %8.0f jobs/s\n' "$side" "$round" \
      "$rps" "$(echo "200000 / ($t1 - $t0)" | bc -l)"
  done
done
