#!/usr/bin/env bash
# run_peers.sh: build and run the peer implementations of the peer workload
# (see bench/README.md, part 2) and print their median events/s.
#
#   bash bench/run_peers.sh [BUILD_DIR]      (default BUILD_DIR: build/bench)
#   RUNS=5 bash bench/run_peers.sh build/bench
#
# Each peer runs $RUNS times (default 3); each run checks its own checksum
# (exit 1 on a mismatch). A peer whose interpreter is missing is skipped.
# Exits 1 if the C build fails or any peer run fails.
set -u

out_dir=${1:-build/bench}
runs=${RUNS:-3}
peers_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/peers" && pwd)

case $runs in
    '' | *[!0-9]* | 0) echo "run_peers.sh: RUNS must be a positive integer" >&2; exit 2 ;;
esac

mkdir -p "$out_dir" || exit 1
if ! cc -O2 -o "$out_dir/peer_c" "$peers_dir/peer.c"; then
    echo "run_peers.sh: failed to build $peers_dir/peer.c" >&2
    exit 1
fi

failed=0
c_median=
rows=()

# median of the numbers given as arguments
median() {
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
        END { if (NR % 2) printf "%.0f", v[(NR + 1) / 2];
              else printf "%.0f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# run_peer IS_C LABEL COMMAND...: run RUNS times, record the median events/s
run_peer() {
    local is_c=$1 label=$2; shift 2
    local rates=() i line rc rate
    for ((i = 0; i < runs; i++)); do
        line=$("$@" 2>&1); rc=$?
        rate=$(printf '%s\n' "$line" | sed -n 's/.*events_per_s=\([0-9][0-9]*\).*/\1/p' | head -n 1)
        if [ "$rc" -ne 0 ] || [ -z "$rate" ]; then
            echo "$label: run failed (exit $rc): $line" >&2
            failed=1
            rows+=("$label|FAILED|-")
            return
        fi
        rates+=("$rate")
    done
    local med
    med=$(median "${rates[@]}")
    [ "$is_c" = 1 ] && c_median=$med
    local ratio=-
    [ -n "$c_median" ] && ratio=$(awk -v a="$med" -v b="$c_median" 'BEGIN { printf "%.2f", a / b }')
    rows+=("$label|$med|$ratio")
}

run_peer 1 "plain C (cc -O2)" "$out_dir/peer_c"

if command -v node >/dev/null 2>&1; then
    run_peer 0 "Node.js $(node --version 2>/dev/null)" node "$peers_dir/peer.js"
else
    echo "node not found: Node.js peer skipped"
fi
if command -v luajit >/dev/null 2>&1; then
    run_peer 0 "LuaJIT $(luajit -v 2>/dev/null | awk '{ print $2 }')" luajit "$peers_dir/peer.lua"
else
    echo "luajit not found: LuaJIT peer skipped"
fi
if command -v lua5.4 >/dev/null 2>&1; then
    run_peer 0 "Lua 5.4" lua5.4 "$peers_dir/peer.lua"
else
    echo "lua5.4 not found: Lua 5.4 peer skipped"
fi

printf '%-22s %24s %11s\n' "implementation" "events/s (median of $runs)" "vs plain C"
for row in "${rows[@]}"; do
    IFS='|' read -r label med ratio <<<"$row"
    printf '%-22s %24s %11s\n' "$label" "$med" "$ratio"
done

exit "$failed"
