#!/usr/bin/env bash
# The embedding example, end to end: install Herald from BUILD_DIR into a temporary prefix,
# build examples/embedded against it out of tree (find_package(Herald)), then run it: jobs
# added by a process killed with -9 part-way are all there, and a worker killed with -9
# mid-send leaves nothing unsent after a restart.
#
#   examples/embedded/test.sh <herald build dir> [extra CXX flags, e.g. the sanitizers]
set -euo pipefail
build_dir=$(cd "$1" && pwd)
cxx_flags=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/herald/engine.h"
test -f "$work/prefix/lib/cmake/Herald/HeraldConfig.cmake"
test -f "$work/prefix/lib/pkgconfig/herald.pc"
# Only the public headers are installed.
test "$(ls "$work/prefix/include/herald")" = "$(printf 'engine.h\nstatus.h')"

cmake -S "$here" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_CXX_FLAGS="$cxx_flags" -DCMAKE_EXE_LINKER_FLAGS="$cxx_flags" >/dev/null
cmake --build "$work/build" -j2 >/dev/null
# pkg-config knows how to build it too.
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --exists herald
# shellcheck disable=SC2046,SC2086
c++ $cxx_flags "$here/main.cc" -o "$work/notifier_pc" \
  $(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs herald)
"$work/notifier_pc" "$work/pc-data" add 3 | grep -q '^added 3$'
app=$work/build/embedded_notifier
data=$work/data

# 1. A producer killed with -9: every job it reported added is there afterwards.
"$app" "$data" add 100000 >"$work/added.txt" &
producer=$!
for _ in $(seq 1 400); do
  [ "$(wc -l <"$work/added.txt")" -ge 300 ] && break
  sleep 0.05
done
kill -9 "$producer" || { echo "the producer ended before it was killed"; exit 1; }
wait "$producer" 2>/dev/null || true
added=$(grep -c '^added ' "$work/added.txt")
[ "$added" -ge 300 ] || { echo "the producer added only $added jobs before it was killed"; exit 1; }

# 2. A worker killed with -9 in the middle of sending, then a worker to the end.
HERALD_EXAMPLE_SLOW_MS=20 "$app" "$data" work >/dev/null &
worker=$!
for _ in $(seq 1 400); do
  [ -f "$data/sent.log" ] && [ "$(wc -l <"$data/sent.log")" -ge 20 ] && break
  sleep 0.05
done
kill -9 "$worker" || { echo "the worker ended before it was killed"; exit 1; }
wait "$worker" 2>/dev/null || true
sent_before=$(wc -l <"$data/sent.log")
[ "$sent_before" -lt "$added" ] || { echo "the worker sent everything before it was killed"; exit 1; }
"$app" "$data" work >"$work/done.txt"
cat "$work/done.txt"

# Every job reported added was sent at least once.
missing=0
while read -r _ id; do
  grep -q "^$id " "$data/sent.log" || missing=$((missing + 1))
done <"$work/added.txt"
if [ "$missing" -ne 0 ]; then
  echo "$missing of $added acknowledged jobs were never sent"
  exit 1
fi
grep -q '^done: ' "$work/done.txt"
echo "ok: $added jobs added before kill -9, all sent after a worker was killed mid-way"
