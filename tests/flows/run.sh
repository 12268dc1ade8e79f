#!/usr/bin/env bash
# Runs every template of flows/ once through `flowc run` (the verifying
# loader, the VM, recording host functions) on a sample SIM and event, and
# compares the printed actions and log with cases/NAME.expected.
# A case is cases/NAME.args: the arguments after `flowc run flows`, one line.
#   UPDATE=1 rewrites the expected files.
set -u
cd "$(dirname "$0")"
build=${1:-build}
root=$(cd ../.. && pwd)
flowc=$root/$build/flowc
pass=0 fail=0
for args in cases/*.args; do
    name=${args%.args}
    # shellcheck disable=SC2046
    out=$(cd ../.. && eval "$flowc" run flows $(cat "tests/flows/$args") 2>&1; echo "exit: $?")
    out=${out//$root\//}
    if [ -n "${UPDATE:-}" ]; then
        printf '%s\n' "$out" > "$name.expected"
    fi
    if [ "$out" == "$(cat "$name.expected" 2>/dev/null)" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $name"
        diff <(printf '%s\n' "$out") "$name.expected" | head -20
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
