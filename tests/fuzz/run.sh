#!/usr/bin/env bash
# Fuzz smoke run: builds the library with clang and libFuzzer's
# instrumentation into build/fuzz, links every tests/fuzz/fuzz_NAME.c, and
# runs each for FUZZ_SECONDS (default 60) on a scratch copy of its seed corpus
# tests/fuzz/corpus/NAME/ (a missing corpus starts empty).  A target passes
# when libFuzzer finds nothing; crashers are kept in build/fuzz/NAME/.
#   tests/fuzz/run.sh [IGNORED]     (the build folder argument is ignored)
set -u
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-60}
out=build/fuzz
san="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
pass=0 fail=0

if ! make --no-print-directory BUILD=$out CC=clang OPT=-O1 SAN="$san" $out/libflow.a >$out.log 2>&1; then
    echo "FAIL building $out/libflow.a (see $out.log)"; tail -20 $out.log
    echo "0 passed, 1 failed"; exit 1
fi
libs=$(sed -n 's/^LDLIBS_ALL *= *//p' Makefile | sed 's/\$(LDLIBS)//')

for src in tests/fuzz/fuzz_*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c); short=${name#fuzz_}
    bin=$out/$name work=$out/$short
    if ! clang -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -g -O1 -I. -I$out/gen \
            -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
            -o "$bin" "$src" $out/libflow.a $libs >"$bin.log" 2>&1; then
        echo "FAIL $name: does not build"; tail -20 "$bin.log"; fail=$((fail + 1)); continue
    fi
    rm -rf "$work"; mkdir -p "$work/corpus" "$work/artifacts"
    [ -d "tests/fuzz/corpus/$short" ] && cp -r "tests/fuzz/corpus/$short/." "$work/corpus/" 2>/dev/null
    if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$bin" "$work/corpus" -max_total_time="$seconds" \
            -max_len=65536 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/artifacts/" \
            -print_final_stats=0 >"$work/log" 2>&1; then
        echo "ok $name ($seconds s)"; pass=$((pass + 1))
    else
        echo "FAIL $name: see $work/log and $work/artifacts/"; tail -30 "$work/log"; fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
