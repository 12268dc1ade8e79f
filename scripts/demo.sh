#!/usr/bin/env bash
# The demo: check the example flows, compile them to artifacts, show one
# disassembled, and run two flows once on sample SIMs and events (nothing is
# sent: the actions are printed).  Then the runtime: the flows' tests, a fresh
# store with a generated inventory, deploy, a generated week of events,
# a simulated week of ticks, and a summary of what ran.
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

# ------------------------------------------------------------ the runtime
flowvm=build/flowvm
db=$out/flow.db
nsims=${DEMO_SIMS:-3000}
nevents=${DEMO_EVENTS:-30000}

step "flowc test flows: the test blocks, on the runtime's engine"
$flowc test flows | tail -3

step "a fresh store: $nsims generated SIMs"
rm -f "$db" "$db-wal" "$db-shm"
scripts/gen_fleet.py sims "$nsims" > "$out/sims.csv"
head -3 "$out/sims.csv"
$flowvm --db "$db" sims import "$out/sims.csv"

step "flowvm deploy: every artifact becomes the active version of its flow"
echo '{"usage_hook": "https://hooks.acme.example/usage"}' > "$out/inputs.json"
$flowvm --db "$db" deploy --auto-approve "$out"/*.art --inputs "$out/inputs.json" --at 2026-12-01T00:00:00Z

step "flowvm ingest: $nevents generated events over a week"
scripts/gen_fleet.py events "$nevents" --sims "$nsims" --start 2026-12-01T00:00:00Z --days 7 > "$out/events.ndjson"
head -2 "$out/events.ndjson"
$flowvm --db "$db" ingest "$out/events.ndjson"

step "flowvm tick: a simulated week (waits, schedules, dates, dormant SIMs)"
$flowvm --db "$db" tick --until 2026-12-08T00:00:00Z

step "summary"
sqlite3 -column -header "$db" "
  SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM runs) AS runs,
         (SELECT count(*) FROM actions) AS actions, (SELECT count(*) FROM outbox WHERE state = 'pending') AS pending_deliveries,
         (SELECT count(*) FROM waits) AS parked_runs;"
echo
sqlite3 -column -header "$db" "
  SELECT f.name AS flow, count(*) AS runs, sum(r.status = 'failed') AS failed, sum(r.status = 'waiting') AS waiting,
         (SELECT count(*) FROM actions a JOIN runs r2 ON r2.id = a.run JOIN versions v2 ON v2.id = r2.version
           WHERE v2.flow = f.id) AS actions
    FROM runs r JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow GROUP BY f.name ORDER BY runs DESC;"
echo
sqlite3 -column -header "$db" "SELECT kind AS action, count(*) AS taken FROM actions GROUP BY kind ORDER BY taken DESC;"

step "a few runs in detail"
$flowvm --db "$db" runs --limit 5
for flow in usage_cap weekly_digest; do
    id=$(sqlite3 "$db" "SELECT r.id FROM runs r JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow
                        WHERE f.name = '$flow' ORDER BY r.id LIMIT 1")
    [ -n "$id" ] && { echo; $flowvm --db "$db" runs show "$id"; }
done
