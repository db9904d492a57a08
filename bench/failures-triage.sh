#!/usr/bin/env bash
# The failure triage (GET /api/queues/{q}/failures) with N failed jobs, from the index against
# the walk through every failed job, alternately in one run of one binary. The walk is what a
# filtered triage does (here `since=1`, which every job matches), and what every triage did
# before the index: the baseline.
#
#   bench/failures-triage.sh HERALD [FAILED] [ROUNDS]
#
# FAILED defaults to 100000, ROUNDS to 5. Fills the queue through RESP (ADDJOB, GETJOB COUNT,
# NACK ... PERMANENT, pipelined through redis-cli), with errors of 20 shapes, then times each
# request with curl. Prints each round and a table of medians.
set -euo pipefail
herald=$1
failed=${2:-100000}
rounds=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/ab-common.sh
source "$here/ab-common.sh"
port=$(ab_free_port)
http=$(ab_free_port)
work=$(mktemp -d /tmp/herald-triage-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$herald" --data-dir "$work/data" --port "$port" --http-port "$http" --workers 0 \
  --log-level warn >"$work/herald.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done

echo "filling $failed failed jobs ..." >&2
# The adds and the NACKs as RESP, for redis-cli --pipe.
python3 - "$failed" "$work" <<'EOF'
import sys
n, work = int(sys.argv[1]), sys.argv[2]
def cmd(*args):
    out = [f"*{len(args)}\r\n"]
    for a in args:
        out.append(f"${len(a.encode())}\r\n{a}\r\n")
    return "".join(out)
shapes = ["connect 10.0.%d.%d:25 timed out after %d ms", "mailbox user%d@example.com is full (%d, %d)",
          "550 5.1.1 <u%d@example.com> unknown (%d %d)", "template booking_%d missing (%d, %d)"]
with open(work + "/add.resp", "w") as add:
    add.write("".join(
        cmd("ADDJOB", "triage",
            '{"eventType":"booking.%s","eventId":"t-%d","data":{"userId":"u-%d"}}'
            % (("created", "confirmed")[i % 2], i, i % 1000),
            "JOBID", f"t-{i}")
        for i in range(n)))
with open(work + "/nack.resp", "w") as nack:
    nack.write("".join(
        cmd("NACK", f"t-{i}", (shapes[i % 4] % (i % 5, i % 251, 1000 + i)) + f" kind {i % 5}",
            "PERMANENT")
        for i in range(n)))
EOF
redis-cli -p "$port" --pipe <"$work/add.resp" >/dev/null
taken=0
while [ "$taken" -lt "$failed" ]; do
  got=$(redis-cli -p "$port" GETJOB NOHANG COUNT 1000 LEASE 3600000 FROM triage | grep -c '^t-' || true)
  [ "$got" -eq 0 ] && break
  taken=$((taken + got))
done
redis-cli -p "$port" --pipe <"$work/nack.resp" >/dev/null
count=$(redis-cli -p "$port" QSTAT triage | tr '\n' ' ' | awk '{for (i = 1; i < NF; i++) if ($i == "failed") print $(i + 1)}')
echo "failed jobs in the queue: $count" >&2

time_get() {  # prints seconds for one GET of $1
  curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$http$1"
}
# The index is built at start and kept by the events: the first request right after the fill
# reads what the passes have not filed yet. Then one walk, so that both are warm.
first=$(time_get "/api/queues/triage/failures")
printf 'first request after the fill: index %.1f ms\n' "$(echo "$first * 1000" | bc -l)"
time_get "/api/queues/triage/failures?since=1" >/dev/null
declare -a index_runs walk_runs
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then
    i=$(time_get "/api/queues/triage/failures")
    w=$(time_get "/api/queues/triage/failures?since=1")
  else
    w=$(time_get "/api/queues/triage/failures?since=1")
    i=$(time_get "/api/queues/triage/failures")
  fi
  index_runs+=("$i")
  walk_runs+=("$w")
  printf 'round %d  index %8.1f ms  walk %8.1f ms\n' "$round" "$(echo "$i * 1000" | bc -l)" \
    "$(echo "$w * 1000" | bc -l)"
done
groups=$(curl -s "http://127.0.0.1:$http/api/queues/triage/failures?limit=10000" |
  python3 -c 'import json,sys; a=json.load(sys.stdin); print(len(a["groups"]), a["failed"])')
mi=$(printf '%s\n' "${index_runs[@]}" | ab_median)
mw=$(printf '%s\n' "${walk_runs[@]}" | ab_median)
echo
printf '| failed jobs | groups, counted | index (median) | walk (median) | walk / index |\n'
printf '|---:|---|---:|---:|---:|\n'
printf '| %s | %s | %.1f ms | %.1f ms | %.0fx |\n' "$count" "$groups" "$(echo "$mi * 1000" | bc -l)" \
  "$(echo "$mw * 1000" | bc -l)" "$(echo "$mw / $mi" | bc -l)"
