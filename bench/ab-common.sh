# What the A/B scripts of two builds share (sourced by bench/ab-builds.sh and
# bench/ab-postgres.sh): the alternating rounds and the table of medians, ratios and spreads.
#
# The sourcing script defines measure <label> <build dir>, which appends one run of each of
# its figures to runs[<figure>_<label>] (label: before or after), and calls
#   ab_free_port (a port for a server)
#   ab_rounds ROUNDS BEFORE_DIR AFTER_DIR
#   ab_table WIDTH "figure:title" ...

declare -A runs

# A loopback port nobody answers on, below the kernel's range for outgoing connections
# (32768 and up here), so that a client's own connection can't hold it when the server binds.
ab_free_port() {
  local port
  while true; do
    port=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}

ab_rounds() {  # ab_rounds <rounds> <before dir> <after dir>
  local rounds=$1 before=$2 after=$3 round
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
}

ab_median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ab_spread() {  # (max - min) / median of a build's runs, in percent
  tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END {
    m = a[int((NR + 1) / 2)]; if (m > 0) printf "%.0f%%", 100 * (a[NR] - a[1]) / m; else print "-" }'
}

ab_table() {  # ab_table <title width> <key>:<title> ...
  local width=$1 entry key name b a
  shift
  printf "\n%-${width}s %12s %12s %7s %14s %14s\n" figure "before" "after" ratio "spread before" \
    "spread after"
  for entry in "$@"; do
    key=${entry%%:*}
    name=${entry#*:}
    b=$(echo "${runs[${key}_before]}" | ab_median)
    a=$(echo "${runs[${key}_after]}" | ab_median)
    printf "%-${width}s %12.0f %12.0f %7s %14s %14s\n" "$name" "$b" "$a" \
      "$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')" \
      "$(echo "${runs[${key}_before]}" | ab_spread)" "$(echo "${runs[${key}_after]}" | ab_spread)"
  done
  echo
  for entry in "$@"; do
    key=${entry%%:*}
    echo "runs $key before:${runs[${key}_before]}"
    echo "runs $key after: ${runs[${key}_after]}"
  done
}
