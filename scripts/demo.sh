#!/usr/bin/env bash
# The demo: check the example flows, compile them to artifacts, show one
# disassembled, and run two flows once on sample SIMs and events (nothing is
# sent: the actions are printed).
set -euo pipefail
cd "$(dirname "$0")/.."
flowc=build/flowc
out=build/demo

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "flowc check flows/"
$flowc check flows

step "flowc build flows -o $out"
rm -rf "$out"
$flowc build flows -o "$out"
ls -l "$out"

step "flowc dis $out/usage_alert.art (first lines)"
$flowc dis "$out/usage_alert.art" | head -40

step "flowc run usage_alert: a Fleet A SIM at 82% of its quota"
$flowc run flows --flow usage_alert --sim flows/samples/sim-fleet-a.json \
    --event flows/samples/usage-820mb.json --set usage_hook=https://hooks.acme.example/usage \
    --at 2026-12-05T10:00:00Z

step "flowc run usage_cap: the same SIM at 100%"
$flowc run flows --flow usage_cap --sim flows/samples/sim-fleet-a.json \
    --event flows/samples/usage-1gb.json --set usage_hook=https://hooks.acme.example/usage \
    --at 2026-12-05T11:00:00Z
