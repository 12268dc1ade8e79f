#!/usr/bin/env bash
# run.sh - `make bench`: the benchmarks with their peers, in one run (see bench/README.md).
#
#   bench/run.sh                  (make bench builds what it needs first, then calls this)
#   RUNS=7 bench/run.sh           runs per measurement (default 5); medians are reported
#   LINES=200000 bench/run.sh     size of the check benchmark's project (default 100000)
#   BENCH=check|peer bench/run.sh only one of the two parts
#   BENCH_STRICT=1 bench/run.sh   also fail when a speed target of part 2 is missed
#   BENCH=ingest bench/run.sh     only flowvm ingest of the peer workload (bench/ingest.sh)
#   BENCH=deliver bench/run.sh    only webhook deliveries against curl (bench/deliver.sh)
#   BENCH=http bench/run.sh       only the HTTP ingestion benchmark (bench/http.sh)
#
# Part 1: `flowc check` of a generated LINES-line project against `luac5.4 -p`
#         of the same program in Lua; flowc's peak RSS.
# Part 2: the peer workload through Flow (build/bench/flow_peer) against the
#         peers of bench/run_peers.sh (plain C, Node.js, LuaJIT, Lua 5.4).
# Exits 1 when a benchmark fails, its output is wrong (checksum, diagnostics),
# or flowc's peak RSS is over 64 MB; a missed speed target is reported, and
# fails the run only under BENCH_STRICT=1.
set -u

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
build=${BUILD:-build}
out=$build/bench
runs=${RUNS:-5}
lines=${LINES:-100000}
only=${BENCH:-all}
rss_limit_kb=$((64 * 1024))
status=0

case $runs in
    '' | *[!0-9]* | 0) echo "run.sh: RUNS must be a positive integer" >&2; exit 2 ;;
esac
mkdir -p "$out" || exit 2

# median of the numbers given as arguments
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

now() { date +%s.%N; }

# time_runs VAR COMMAND...: RUNS timed runs (after one warm-up); VAR gets the median seconds
time_runs() {
    local var=$1; shift
    local times=() i t0 t1
    "$@" >/dev/null 2>&1
    for ((i = 0; i < runs; i++)); do
        t0=$(now)
        "$@" >/dev/null 2>&1 || { echo "run.sh: failed: $*" >&2; return 1; }
        t1=$(now)
        times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')")
    done
    printf -v "$var" '%s' "$(median "${times[@]}")"
}

# ------------------------------------------------------------ part 1: flowc check
bench_check() {
    local dir=$out/check flowc=$build/flowc
    echo "== flowc check: a generated $lines-line project against luac5.4 -p of its Lua twin"
    if ! command -v luac5.4 >/dev/null 2>&1; then
        echo "luac5.4 not found (scripts/deps.sh --bench installs it)" >&2
        return 1
    fi
    python3 bench/gen_project.py "$dir" "$lines" || return 1
    local flow_lines lua_lines
    flow_lines=$(cat "$dir"/project/*.flow | wc -l)
    lua_lines=$(wc -l <"$dir/project.lua")

    # the project must check clean: no error, no warning
    local diags
    if ! diags=$("$flowc" check "$dir/project" 2>&1); then
        echo "flowc check failed on the generated project:" >&2
        printf '%s\n' "$diags" | head -20 >&2
        return 1
    fi
    if printf '%s\n' "$diags" | grep -qE 'error|warning'; then
        echo "the generated project does not check clean:" >&2
        printf '%s\n' "$diags" | head -20 >&2
        return 1
    fi
    luac5.4 -p "$dir/project.lua" || return 1

    local flowc_s luac_s
    if command -v hyperfine >/dev/null 2>&1; then
        hyperfine --style none --warmup 1 --runs "$runs" --export-json "$dir/hyperfine.json" \
            -n flowc "$flowc check $dir/project" -n luac "luac5.4 -p $dir/project.lua" \
            >/dev/null 2>"$dir/hyperfine.err" || { cat "$dir/hyperfine.err" >&2; return 1; }
        read -r flowc_s luac_s < <(python3 -c '
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
print("%.6f %.6f" % (r["flowc"], r["luac"]))' "$dir/hyperfine.json") || return 1
        local how="hyperfine, median of $runs after a warm-up"
    else
        time_runs flowc_s "$flowc" check "$dir/project" || return 1
        time_runs luac_s luac5.4 -p "$dir/project.lua" || return 1
        local how="date +%s.%N, median of $runs after a warm-up"
    fi
    local rss_kb
    rss_kb=$(/usr/bin/time -v "$flowc" check "$dir/project" 2>&1 >/dev/null |
             sed -n 's/.*Maximum resident set size (kbytes): *\([0-9]*\).*/\1/p')

    printf '%-34s %s\n' "timing" "$how"
    printf '%-34s %s (.flow, %d files) / %s (.lua)\n' "lines" "$flow_lines" "$(ls "$dir"/project/*.flow | wc -l)" "$lua_lines"
    printf '%-34s %.3f s\n' "flowc check, median" "$flowc_s"
    printf '%-34s %.3f s\n' "luac5.4 -p, median" "$luac_s"
    printf '%-34s %.2f\n' "ratio flowc / luac" "$(awk -v a="$flowc_s" -v b="$luac_s" 'BEGIN { print a / b }')"
    printf '%-34s %.0f lines/s\n' "flowc check throughput" "$(awk -v a="$flow_lines" -v b="$flowc_s" 'BEGIN { print a / b }')"
    if [ -n "$rss_kb" ]; then
        printf '%-34s %.1f MB (limit 64 MB)\n' "flowc check max RSS" "$(awk -v k="$rss_kb" 'BEGIN { print k / 1024 }')"
        if [ "$rss_kb" -ge "$rss_limit_kb" ]; then
            echo "TARGET MISSED: flowc check's peak RSS is over 64 MB" >&2
            return 1
        fi
    else
        echo "flowc check max RSS: not measured (/usr/bin/time -v unavailable)"
    fi
}

# ------------------------------------------------------------ part 2: the peer workload
bench_peer() {
    local flow_peer=$build/bench/flow_peer
    echo "== the peer workload: 2,000,000 events, 100,000 SIMs, 50 flows (median of $runs rounds)"
    # Rounds interleave the implementations (run_peers.sh once, then flow_peer
    # once), so that a load that comes and goes on a shared machine falls on
    # all of them alike rather than on whichever ran during it.
    local -A rates_of=()
    local labels=() flow_rates=() round_ratios=() peers_rc=0 i line rate
    for ((i = 0; i < runs; i++)); do
        local peers_out
        peers_out=$(RUNS=1 bash bench/run_peers.sh "$out" 2>&1) || peers_rc=1
        local c_round=
        while IFS= read -r row; do
            local label med
            label=$(printf '%s\n' "$row" | awk '{ $NF = ""; $(NF - 1) = ""; sub(/ +$/, ""); print }')
            med=$(printf '%s\n' "$row" | awk '{ print $(NF - 1) }')
            [ -n "${rates_of[$label]+set}" ] || labels+=("$label")
            rates_of[$label]="${rates_of[$label]:-} $med"
            case $label in "plain C"*) c_round=$med ;; esac
        done < <(printf '%s\n' "$peers_out" | awk 'found && NF >= 3 { print } /^implementation/ { found = 1 }')
        [ "$i" -eq 0 ] && printf '%s\n' "$peers_out" | grep -E 'not found|failed' >&2

        if ! line=$("$flow_peer" 2>&1); then
            echo "flow_peer failed: $line" >&2
            return 1
        fi
        rate=$(printf '%s\n' "$line" | sed -n 's/.*events_per_s=\([0-9][0-9]*\).*/\1/p' | tail -n 1)
        [ -n "$rate" ] || { echo "flow_peer printed no rate: $line" >&2; return 1; }
        flow_rates+=("$rate")
        case $c_round in '' | FAILED) ;;
            *) round_ratios+=("$(awk -v a="$rate" -v b="$c_round" 'BEGIN { printf "%.3f", a / b }')") ;;
        esac
    done
    local flow_rate
    flow_rate=$(median "${flow_rates[@]}")
    flow_rate=${flow_rate%.*}
    echo "flow_peer, last run: $(printf '%s\n' "$line" | tail -n 1)"

    local medians=() c_rate= k
    for ((k = 0; k < ${#labels[@]}; k++)); do
        local all med
        all=${rates_of[${labels[$k]}]}
        # shellcheck disable=SC2086
        if [[ $all == *FAILED* ]]; then med=FAILED; else med=$(median $all); med=${med%.*}; fi
        medians+=("$med")
        case ${labels[$k]} in "plain C"*) [ "$med" != FAILED ] && c_rate=$med ;; esac
    done

    printf '\n%-24s %14s %12s %14s\n' "implementation" "events/s" "vs plain C" "Flow / this"
    printf '%-24s %14s %12s %14s\n' "Flow (bytecode VM)" "$flow_rate" \
        "$([ -n "$c_rate" ] && awk -v a="$flow_rate" -v b="$c_rate" 'BEGIN { printf "%.3f", a / b }' || echo -)" "1.00"
    local ok=1
    for ((k = 0; k < ${#labels[@]}; k++)); do
        local med=${medians[$k]} vs_c=- flow_vs=-
        if [ "$med" != FAILED ]; then
            [ -n "$c_rate" ] && vs_c=$(awk -v a="$med" -v b="$c_rate" 'BEGIN { printf "%.3f", a / b }')
            flow_vs=$(awk -v a="$flow_rate" -v b="$med" 'BEGIN { printf "%.2f", a / b }')
            # targets: faster than every interpreted peer, within 4x of plain C
            case ${labels[$k]} in
                "plain C"*) awk -v a="$flow_rate" -v b="$med" 'BEGIN { exit !(a * 4 >= b) }' || ok=0 ;;
                *) awk -v a="$flow_rate" -v b="$med" 'BEGIN { exit !(a > b) }' || ok=0 ;;
            esac
        fi
        printf '%-24s %14s %12s %14s\n' "${labels[$k]}" "$med" "$vs_c" "$flow_vs"
    done
    echo
    [ ${#round_ratios[@]} -gt 0 ] &&
        echo "Flow / plain C in each round: ${round_ratios[*]} (median $(median "${round_ratios[@]}"))"
    if [ "$ok" = 1 ]; then
        echo "targets met: Flow is faster than every interpreted peer and within 4x of plain C"
    else
        echo "TARGET MISSED: Flow must beat Lua 5.4, LuaJIT and Node.js and stay within 4x of plain C"
    fi
    [ "$peers_rc" -eq 0 ] || { echo "run_peers.sh failed" >&2; return 1; }
    [ "$ok" = 1 ] || [ "${BENCH_STRICT:-0}" = 0 ]
}

if [ "$only" = all ] || [ "$only" = check ]; then
    bench_check || status=1
    echo
fi
if [ "$only" = all ] || [ "$only" = peer ]; then
    bench_peer || status=1
fi
if [ "$only" = all ] || [ "$only" = ingest ]; then echo; bench/ingest.sh || status=1; fi
if [ "$only" = all ] || [ "$only" = deliver ]; then echo; bench/deliver.sh || status=1; fi
if [ "$only" = all ] || [ "$only" = http ]; then echo; bench/http.sh || status=1; fi
exit "$status"
