#!/usr/bin/env bash
# The crash test: ingest EVENTS events (100,000; 20,000 under ASan) while
# flowvm is killed with SIGKILL at random moments (at least KILLS times),
# restarting it each time on the same file; then compare the store with a
# reference store that ingested the same events without interruption:
# every event processed exactly once (the same runs, none missing, none
# doubled), the same actions, the same SIM records, the same parked waits,
# and PRAGMA integrity_check ok.
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
flowc=$PWD/$build/flowc
flowvm=$PWD/$build/flowvm
events=${EVENTS:-100000}
kills=${KILLS:-20}
case $build in *asan*) events=${EVENTS:-20000} ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$flowc" build flows -o "$tmp/art" >/dev/null || exit 1
echo '{"usage_hook": "https://hooks.acme.example/usage"}' > "$tmp/in.json"
scripts/gen_fleet.py sims 2000 > "$tmp/sims.csv"
scripts/gen_fleet.py events "$events" --sims 2000 --days 7 > "$tmp/events.ndjson"
setup() {
    "$flowvm" --db "$1" sims import "$tmp/sims.csv" >/dev/null &&
    "$flowvm" --db "$1" deploy --auto-approve "$tmp"/art/*.art --inputs "$tmp/in.json" --at 2026-12-01T00:00:00Z >/dev/null
}
setup "$tmp/ref.db" && setup "$tmp/crash.db" || { echo "set-up failed"; exit 1; }
"$flowvm" --db "$tmp/ref.db" ingest "$tmp/events.ndjson" --batch 500 --quiet || { echo "reference ingest failed"; exit 1; }

# kill it at random moments, restarting each time on the whole file
killed=0 attempts=0
while [ $killed -lt "$kills" ] && [ $attempts -lt $((kills * 5)) ]; do
    attempts=$((attempts + 1))
    "$flowvm" --db "$tmp/crash.db" ingest "$tmp/events.ndjson" --batch 500 --quiet 2>/dev/null &
    pid=$!
    sleep "0.$(printf '%03d' $((RANDOM % 250 + 20)))"
    if kill -KILL "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
    wait "$pid" 2>/dev/null
done
"$flowvm" --db "$tmp/crash.db" ingest "$tmp/events.ndjson" --batch 500 --quiet || { echo "final ingest failed"; exit 1; }

status=0
dump() {
    sqlite3 "$1" "
      SELECT 'run', f.name, v.number, e.key, r.iccid, r.status, coalesce(r.error, ''),
             (SELECT group_concat(a.kind || ':' || a.body, '|') FROM actions a WHERE a.run = r.id)
        FROM runs r JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow JOIN events e ON e.id = r.event
        ORDER BY e.key, f.name;
      SELECT 'event', key, type, iccid, time, sim_known FROM events ORDER BY key;
      SELECT 'wait', e.key, f.name, w.due FROM waits w JOIN runs r ON r.id = w.run JOIN events e ON e.id = r.event
        JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow ORDER BY e.key, f.name;
      SELECT 'sim', s.iccid, s.status, json_set(s.doc, '$.month_usage', u.month_usage, '$.data_left', u.data_left,
             '$.days_left', u.days_left), u.last_usage FROM sims s JOIN sim_usage u ON u.sim = s.id ORDER BY s.iccid;
      SELECT 'trigger', f.name, s.iccid, t.fired_at FROM trigger_state t JOIN flows f ON f.id = t.flow
        JOIN sims s ON s.id = t.sim ORDER BY f.name, s.iccid;
      SELECT 'outbox', count(*) FROM outbox;"
}
dump "$tmp/ref.db" > "$tmp/ref.txt"
dump "$tmp/crash.db" > "$tmp/crash.txt"
nevents=$(sqlite3 "$tmp/crash.db" "SELECT count(*) FROM events")
nruns=$(sqlite3 "$tmp/crash.db" "SELECT count(*) FROM runs")
nwaits=$(sqlite3 "$tmp/crash.db" "SELECT count(*) FROM waits")
echo "killed $killed times; $nevents events, $nruns runs, $nwaits parked waits"
if [ "$killed" -lt "$kills" ]; then echo "FAIL only $killed kills"; status=1; fi
if [ "$nevents" -ne "$events" ]; then echo "FAIL $nevents events recorded, not $events"; status=1; fi
if ! cmp -s "$tmp/ref.txt" "$tmp/crash.txt"; then
    echo "FAIL the store differs from the uninterrupted reference:"
    diff "$tmp/ref.txt" "$tmp/crash.txt" | head -20
    status=1
fi
if [ "$(sqlite3 "$tmp/crash.db" 'PRAGMA integrity_check')" != ok ]; then echo "FAIL integrity_check"; status=1; fi
[ $status -eq 0 ] && echo "every event processed exactly once; waits intact; integrity ok"
exit $status
