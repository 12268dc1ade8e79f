#!/usr/bin/env bash
# Golden tests: for every tests/golden/**/NAME.flow with a sibling
# NAME.expected, runs `BUILD/flowc check NAME.flow` from the file's folder (so
# paths print short), appends "exit: N", and diffs against NAME.expected.
# A sibling NAME.parse.expected also diffs `flowc parse NAME.flow`.
#   tests/golden/run.sh BUILD [DIR]    only the cases under DIR (e.g. tests/golden/syntax)
#   UPDATE=1 rewrites the expected files of the cases it runs
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
only=${2:-tests/golden}
flowc=$(cd "$build" && pwd)/flowc
pass=0 fail=0

run_case() {   # flow-file expected-file command
    local flow=$1 expected=$2 cmd=$3
    local dir base got
    dir=$(dirname "$flow"); base=$(basename "$flow")
    got=$(cd "$dir" && "$flowc" "$cmd" "$base" 2>&1; echo "exit: $?")
    if [ -n "${UPDATE:-}" ]; then
        printf '%s\n' "$got" > "$expected"
    fi
    if diff -u "$expected" <(printf '%s\n' "$got") > /tmp/golden_diff.$$ 2>&1; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $flow ($cmd)"
        head -40 /tmp/golden_diff.$$
    fi
}

while IFS= read -r flow; do
    stem=${flow%.flow}
    [ -e "$stem.expected" ] && run_case "$flow" "$stem.expected" check
    [ -e "$stem.parse.expected" ] && run_case "$flow" "$stem.parse.expected" parse
done < <(find "$only" -name '*.flow' | LC_ALL=C sort)
rm -f /tmp/golden_diff.$$
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
