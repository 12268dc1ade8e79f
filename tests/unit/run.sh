#!/usr/bin/env bash
# Runs every unit-test binary of a build (tests/unit/*.c built into BUILD/tests/).
# Each binary prints "N passed, N failed" last; this adds them up.
set -u
build=${1:-build}
pass=0 fail=0
for src in tests/unit/*.c; do
    [ -e "$src" ] || continue
    bin="$build/tests/$(basename "$src" .c)"
    if [ ! -x "$bin" ]; then echo "FAIL $bin: not built"; fail=$((fail + 1)); continue; fi
    out=$("$bin" 2>&1); rc=$?
    last=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
    p=$(echo "$last" | sed -nE 's/^([0-9]+) passed.*/\1/p'); f=$(echo "$last" | sed -nE 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/p')
    p=${p:-0}; f=${f:-0}
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    [ "$f" -ne 0 ] && { echo "FAIL $bin (exit $rc)"; echo "$out" | grep -v '^ok ' | tail -40; }
    pass=$((pass + p)); fail=$((fail + f))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
