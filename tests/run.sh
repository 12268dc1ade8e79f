#!/usr/bin/env bash
# Runs every test suite, with the normal build and again with the ASan+UBSan
# build.  Each suite is a script under tests/ that takes the build folder as
# its argument and prints "N passed, N failed" as its last line; this script
# adds them up and prints the total the same way.
# The suites of the threaded programs (flowvm serve, the delivery worker) run
# a third time with the ThreadSanitizer build.
#   FLOW_NO_ASAN=1  skip the sanitizer passes     FLOW_NO_FUZZ=1  skip the fuzz smoke run
set -u
cd "$(dirname "$0")/.."
total_pass=0 total_fail=0
failed_suites=()

run_suite() {   # name build-dir command...
    local name=$1 build=$2; shift 2
    local log; log=$(mktemp)
    "$@" "$build" >"$log" 2>&1
    local rc=$?
    local last; last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    local p=0 f=0
    if [ -n "$last" ]; then
        p=$(echo "$last" | sed -E 's/^([0-9]+) passed.*/\1/')
        f=$(echo "$last" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    fi
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
    printf '%-28s %-12s %5d passed, %d failed\n' "$name" "($build)" "$p" "$f"
    if [ "$f" -ne 0 ]; then
        failed_suites+=("$name ($build)")
        sed 's/^/    | /' "$log" | grep -v -E '^    \| (ok|PASS) ' | tail -60
    fi
    rm -f "$log"
}

suites() {   # build-dir
    local build=$1
    run_suite unit "$build" tests/unit/run.sh
    for s in tests/*/run.sh; do
        case "$s" in tests/unit/run.sh|tests/fuzz/run.sh) continue ;; esac
        run_suite "$(basename "$(dirname "$s")")" "$build" "$s"
    done
}

suites build
if [ -z "${FLOW_NO_ASAN:-}" ]; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    suites build/asan
    if [ -x build/tsan/flowvm ]; then
        export TSAN_OPTIONS=halt_on_error=1
        run_suite http build/tsan tests/http/run.sh
        run_suite deliver build/tsan tests/deliver/run.sh
    fi
fi
if [ -z "${FLOW_NO_FUZZ:-}" ] && [ -x tests/fuzz/run.sh ]; then
    run_suite fuzz-smoke build/fuzz env FUZZ_SECONDS="${FUZZ_SECONDS:-60}" tests/fuzz/run.sh
fi

[ ${#failed_suites[@]} -eq 0 ] || printf 'failed: %s\n' "${failed_suites[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
