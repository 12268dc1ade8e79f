#!/usr/bin/env bash
# Artifacts: the same source builds to the same bytes; the disassembly of the
# brief's flows is pinned; hostile artifact files are refused with the
# offset and the fault; runs that exceed a limit or divide by zero end with
# the flow, the line and the cause.
#   UPDATE=1 rewrites the expected files.
set -u
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
flowc=$root/${1:-build}/flowc
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

# golden: compare the output of a command with a file
golden() {   # name command...
    local name=$1; shift
    local got; got=$("$@" 2>&1; echo "exit: $?")
    got=${got//$root\//}
    got=${got//$work\//}
    [ -n "${UPDATE:-}" ] && printf '%s\n' "$got" > "$name.expected"
    if [ "$got" == "$(cat "$name.expected" 2>/dev/null)" ]; then ok; else
        bad "$name"; diff <(printf '%s\n' "$got") "$name.expected" | head -20; fi
}

# same source, same bytes
"$flowc" build "$root/flows" -o "$work/a" >/dev/null && "$flowc" build "$root/flows" -o "$work/b" >/dev/null
if [ "$(ls "$work/a" | wc -l)" -gt 0 ] && diff -r "$work/a" "$work/b" >/dev/null; then ok; else bad "builds differ"; fi

# disassembly of the brief's example
"$flowc" build "$root/tests/golden/brief/fleet.flow" -o "$work/brief" >/dev/null
for art in usage_alert usage_cap notify_billing reset_by_sms; do
    golden "dis/$art" "$flowc" dis "$work/brief/$art.art"
done

# hostile files: truncated at several lengths, a flipped byte, not an artifact, empty
art="$work/brief/usage_cap.art"
size=$(stat -c %s "$art")
for cut in 0 7 8 40 $((size / 2)) $((size - 1)); do
    head -c "$cut" "$art" > "$work/cut.art"
    out=$("$flowc" dis "$work/cut.art" 2>&1); rc=$?
    if [ $rc -eq 1 ] && [[ "$out" == *"not a valid artifact"* ]]; then ok; else bad "truncated at $cut: rc=$rc $out"; fi
done
cp "$art" "$work/flip.art"
printf '\xff' | dd of="$work/flip.art" bs=1 seek=$((size / 2)) conv=notrunc status=none
out=$("$flowc" dis "$work/flip.art" 2>&1); rc=$?
if [ $rc -eq 1 ] && [[ "$out" == *"offset"* ]]; then ok; else bad "flipped byte: rc=$rc $out"; fi
golden "dis/not_an_artifact" "$flowc" dis "$root/tests/build/run.sh"

# limits and runtime errors: each names the flow, the line and the cause
golden limits/budget "$flowc" run limits/budget.flow --flow spin --sim limits/sim.json --event limits/sms-200.json
golden limits/memory "$flowc" run limits/memory.flow --flow grow --sim limits/sim.json --event limits/sms-short.json
golden limits/divide "$flowc" run limits/arith.flow --flow divide --sim limits/sim.json --event limits/sms-zero.json
golden limits/index "$flowc" run limits/arith.flow --flow pick --sim limits/sim.json --event limits/sms-short.json

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
