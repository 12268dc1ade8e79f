#!/usr/bin/env bash
# Integration tests of the runtime: `flowc test flows` on the engine, flowvm's
# commands on a real store (inventory, deploy refusals, ingestion of good and
# bad lines, waits through tick, history, transfer), and the crash test
# (crash.sh).  Prints "N passed, N failed" last.
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
flowc=$PWD/$build/flowc
flowvm=$PWD/$build/flowvm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
# expect_in NAME NEEDLE TEXT: TEXT contains NEEDLE
expect_in() { if [[ "$3" == *"$2"* ]]; then ok; else bad "$1: expected '$2' in:"; printf '%s\n' "$3" | head -20; fi; }
expect_eq() { if [ "$2" == "$3" ]; then ok; else bad "$1: expected '$2', got '$3'"; fi; }
q() { sqlite3 -cmd '.timeout 10000' "$db" "$1"; }   # waits for a writer (the server's) instead of failing

# ------------------------------------------------------------ flowc test
out=$("$flowc" test flows 2>&1); rc=$?
expect_eq "flowc test flows exits 0" 0 "$rc"
expect_in "flowc test flows" " 0 failed" "$(printf '%s\n' "$out" | tail -1)"
mkdir -p "$tmp/neg"
cat > "$tmp/neg/neg.flow" <<'FLOW'
flow cap {
  on    data.usage
  when  event.used >= 100% of sim.quota
  do    { suspend sim }
}
test "a wrong expectation" {
  sim    { iccid: "89441000300000000020", quota: 1GB }
  event  data.usage { used: 1GB }
  expect resume "89441000300000000020"
  expect sim.status == "active"
}
FLOW
out=$("$flowc" test "$tmp/neg" 2>&1); rc=$?
expect_eq "a failing test exits non-zero" 1 "$rc"
expect_in "a failing test names itself" "FAIL - a wrong expectation" "$out"
expect_in "a failed expectation says what happened" \
    "neg.flow:9: expected resume 89441000300000000020, but the step took: suspend 89441000300000000020" "$out"
expect_in "a false expectation" "neg.flow:10: expected sim.status == \"active\", but it is false" "$out"
expect_in "the summary" "0 passed, 1 failed" "$out"

# ------------------------------------------------------------ inventory
db=$tmp/t.db
cat > "$tmp/bad.csv" <<'CSV'
iccid,status,quota,tags
89441000300000000012,active,1000000000,USA-FleetA
89441000300000000013,active,1000000000,
89441000300000000020,asleep,1000000000,
89441000300000000038,active,lots,
CSV
out=$("$flowvm" --db "$db" sims import "$tmp/bad.csv" 2>&1); rc=$?
expect_eq "an import with bad rows fails" 1 "$rc"
expect_in "bad ICCID by line" "line 3: SIM field \"iccid\":" "$out"
expect_in "bad status by line" "line 4: SIM field \"status\": \"asleep\" is not a valid status" "$out"
expect_in "bad size by line" "line 5: SIM field \"quota\"" "$out"
expect_eq "nothing applied" 0 "$(q 'SELECT count(*) FROM sims')"
out=$("$flowvm" --db "$db" sims import "$tmp/bad.csv" --skip-invalid 2>&1)
expect_in "--skip-invalid imports the rest" "imported 1 SIMs, rejected 3 rows" "$out"
scripts/gen_fleet.py sims 300 > "$tmp/sims.csv"
out=$("$flowvm" --db "$db" sims import "$tmp/sims.csv" 2>&1)
expect_in "a generated inventory" "imported 300 SIMs" "$out"
printf '{"iccid": "89441000300000000012", "note": "from NDJSON", "tags": ["USA-FleetA", "x"]}\n' > "$tmp/one.ndjson"
"$flowvm" --db "$db" sims import "$tmp/one.ndjson" >/dev/null 2>&1
out=$("$flowvm" --db "$db" sims show 89441000300000000012)
expect_in "NDJSON merges into the record" '"note":	"from NDJSON"' "$out"
expect_eq "the tags index" 1 "$(q "SELECT count(*) FROM sim_tags WHERE tag = 'x'")"
expect_in "sims list" "300 SIMs" "$("$flowvm" --db "$db" sims list | tail -1)"
expect_eq "WAL mode" wal "$(q 'PRAGMA journal_mode')"
expect_eq "schema migrated" 1 "$(q "SELECT (SELECT user_version FROM pragma_user_version) >= 1")"

# ------------------------------------------------------------ deploy
"$flowc" build flows -o "$tmp/art" >/dev/null
out=$("$flowvm" --db "$db" deploy --auto-approve "$tmp"/art/*.art --at 2026-12-01T00:00:00Z 2>&1); rc=$?
expect_eq "deploy without a required input fails" 1 "$rc"
expect_in "the missing input" "needs input 'usage_hook' (url), which has no default" "$out"
echo '{"usage_hook": "http://not-https.example"}' > "$tmp/badin.json"
out=$("$flowvm" --db "$db" deploy --auto-approve "$tmp"/art/*.art --inputs "$tmp/badin.json" 2>&1)
expect_in "an input of the wrong type" "input 'usage_hook' of 'usage_alert' must be url" "$out"
head -c 200 "$tmp/art/usage_cap.art" > "$tmp/cut.art"
out=$("$flowvm" --db "$db" deploy --auto-approve "$tmp/cut.art" 2>&1)
expect_in "a truncated artifact" "cut.art: not a valid artifact" "$out"
echo '{"usage_hook": "https://hooks.acme.example/usage"}' > "$tmp/in.json"
out=$("$flowvm" --db "$db" deploy --auto-approve "$tmp"/art/*.art --inputs "$tmp/in.json" --at 2026-12-01T00:00:00Z 2>&1)
expect_in "deploy" "deployed flow 'usage_cap' version 1" "$out"
expect_eq "subs pinned" 1 "$(q "SELECT count(*) FROM version_subs vs JOIN versions v ON v.id = vs.version JOIN flows f ON f.id = v.flow WHERE f.name = 'usage_cap'")"
out=$("$flowvm" --db "$db" deploy --auto-approve "$tmp"/art/*.art --inputs "$tmp/in.json" 2>&1)
expect_in "a second deploy keeps unchanged versions" "kept flow 'usage_cap' version 1 (unchanged)" "$out"

# ------------------------------------------------------------ ingest: bad lines, the rest unharmed
big=$(head -c 70000 /dev/zero | tr '\0' 'a')
{
    echo '{"id":"e1","type":"data.usage","iccid":"89441000300000000020","time":"2026-12-02T10:00:00Z","used":500000000}'
    echo '{"id":"e2","type":"data.usage","iccid":"89441000300000000020","time":"2026-12-02T11:00:00Z"'
    echo '{"id":"e3","type":"data.usag","iccid":"89441000300000000020","time":"2026-12-02T11:00:00Z","used":1}'
    echo '{"id":"e4","type":"data.usage","iccid":"89441000300000000020","time":"2026-12-02T11:00:00Z","used":"lots"}'
    echo '{"type":"data.usage","iccid":"89441000300000000020","time":"2026-12-02T11:00:00Z","used":1}'
    echo '{"id":"e6","type":"data.usage","iccid":"89441000300000000020","time":"1999-12-02T11:00:00Z","used":1}'
    echo "{\"id\":\"e7\",\"note\":\"$big\"}"
    echo '{"id":"e8","type":"data.usage","iccid":"89441000300000000021","time":"2026-12-02T11:00:00Z","used":1}'
    echo '{"id":"e9","type":"data.usage","iccid":"89441000300000999999","time":"2026-12-02T11:00:00Z","used":1}'
    echo '{"id":"e10","type":"data.usage","iccid":"89441000300000000020","time":"2026-12-02T12:00:00Z","used":1000000000}'
    echo '{"id":"e1","type":"data.usage","iccid":"89441000300000000020","time":"2026-12-02T10:00:00Z","used":500000000}'
    echo '{"id":"e11","type":"date","iccid":"89441000300000000020","time":"2026-12-02T12:00:00Z"}'
    echo '{"id":"e12","type":"invoice.overdue","time":"2026-12-02T12:00:00Z","invoice_id":"INV-1","amount":500.0,"currency":"EUR"}'
} > "$tmp/events.ndjson"
"$flowvm" --db "$db" sims import /dev/stdin <<'CSV' >/dev/null
iccid,package,quota
89441000300000000020,IoT-1GB,1000000000
CSV
out=$("$flowvm" --db "$db" ingest "$tmp/events.ndjson" 2>&1); rc=$?
expect_eq "rejected lines exit 3" 3 "$rc"
expect_in "malformed JSON" "line 2: malformed JSON near byte" "$out"
expect_in "unknown type" 'line 3: unknown event type "data.usag"' "$out"
expect_in "wrong field type" 'line 4: field "used": expected bytes (a whole number of bytes, not negative), not a string' "$out"
expect_in "missing id" 'line 5: missing "id" (a non-empty string)' "$out"
expect_in "far past" 'line 6: "time": 1999-12-02T11:00:00Z is too far in the past or the future' "$out"
expect_in "over-long line" "line 7: the line is longer than 65536 bytes" "$out"
expect_in "bad ICCID" 'line 8: "iccid":' "$out"
expect_in "made events are not ingested" "line 12: date events are made by flowvm's clock, not ingested" "$out"
expect_in "the rest goes on" "4 events processed, 8 rejected, 1 duplicates ignored, 1 about unknown SIMs" "$out"
expect_eq "unknown SIM recorded" 0 "$(q "SELECT sim_known FROM events WHERE key = 'e9'")"
expect_eq "usage updates the SIM" 1000000000 "$(q "SELECT u.month_usage FROM sims s JOIN sim_usage u ON u.sim = s.id WHERE s.iccid = '89441000300000000020'")"
expect_eq "data_left follows" 0 "$(q "SELECT u.data_left FROM sims s JOIN sim_usage u ON u.sim = s.id WHERE s.iccid = '89441000300000000020'")"
expect_eq "usage_cap suspended the SIM" suspended "$(q "SELECT status FROM sims WHERE iccid = '89441000300000000020'")"
expect_eq "the run waits" waiting "$(q "SELECT r.status FROM runs r JOIN events e ON e.id = r.event WHERE e.key = 'e10'")"
expect_eq "deliveries pending in the outbox" 3 "$(q "SELECT count(*) FROM outbox WHERE state = 'pending'")"
runs_before=$(q 'SELECT count(*) FROM runs')
"$flowvm" --db "$db" ingest "$tmp/events.ndjson" >/dev/null 2>&1
expect_eq "re-delivery runs nothing again" "$runs_before" "$(q 'SELECT count(*) FROM runs')"

# ------------------------------------------------------------ a newer version; the wait resumes on its own
sed 's/resumed after 24h/resumed after a day/' flows/fleet.flow > "$tmp/fleet2.flow"
mkdir -p "$tmp/v2" && cp "$tmp/fleet2.flow" "$tmp/v2/fleet.flow"
"$flowc" build "$tmp/v2" -o "$tmp/art2" >/dev/null
"$flowvm" --db "$db" deploy --auto-approve "$tmp"/art2/*.art --inputs "$tmp/in.json" >/dev/null 2>&1
expect_eq "a new version is active" 2 "$(q "SELECT v.number FROM versions v JOIN flows f ON f.id = v.flow WHERE f.name = 'notify_billing' AND v.state = 'active'")"
out=$("$flowvm" --db "$db" tick --until 2026-12-03T11:00:00Z 2>&1)
expect_eq "not due yet" waiting "$(q "SELECT r.status FROM runs r JOIN events e ON e.id = r.event WHERE e.key = 'e10'")"
out=$("$flowvm" --db "$db" tick --until 2026-12-03T12:00:00Z 2>&1)
expect_in "tick resumes" "1 runs resumed" "$out"
run=$(q "SELECT r.id FROM runs r JOIN events e ON e.id = r.event WHERE e.key = 'e10'")
out=$("$flowvm" --db "$db" runs show "$run" 2>&1)
expect_in "the run ended" "status:  ok" "$out"
expect_in "resumed on the original version" "resumed after 24h" "$out"
expect_in "each action's result" "-> 89441000300000000020: done" "$out"
expect_eq "resume took effect" active "$(q "SELECT status FROM sims WHERE iccid = '89441000300000000020'")"
out=$("$flowvm" --db "$db" runs --flow usage_cap --json)
expect_in "runs --json" '"flow":	"usage_cap"' "$out"
out=$("$flowvm" --db "$db" runs --status waiting)
expect_eq "no run waits any more" 1 "$(printf '%s\n' "$out" | wc -l)"

# ------------------------------------------------------------ a failing run
mkdir -p "$tmp/failing"
cat > "$tmp/failing/f.flow" <<'FLOW'
flow divide {
  on sms.mo
  do {
    log "before"
    email ["a@acme.example"] { subject "s" text "t" }
    let n = len(event.text) - len(event.text)
    log "${10 / n}"
  }
}
FLOW
"$flowc" build "$tmp/failing" -o "$tmp/art3" >/dev/null
"$flowvm" --db "$db" deploy --auto-approve "$tmp/art3/divide.art" --at 2026-12-01T00:00:00Z >/dev/null
echo '{"id":"f1","type":"sms.mo","iccid":"89441000300000000020","time":"2026-12-04T00:00:00Z","from":"+1","text":"x"}' |
    "$flowvm" --db "$db" ingest - >/dev/null 2>&1
out=$("$flowvm" --db "$db" runs --status failed)
expect_in "a failed run is recorded" "divide" "$out"
run=$(q "SELECT r.id FROM runs r JOIN events e ON e.id = r.event WHERE e.key = 'f1'")
out=$("$flowvm" --db "$db" runs show "$run")
expect_in "its error names flow, version, run and line" "error:   flow divide version 1 run $run: division by zero (line 7)" "$out"
expect_in "its partial log" "line 4: before" "$out"
expect_eq "it took no action" 0 "$(q "SELECT count(*) FROM actions WHERE run = $run")"

# ------------------------------------------------------------ a scope's total (data.usage.total)
tdb=$tmp/total.db
cat > "$tmp/fleet.csv" <<'CSV'
iccid,status,quota,tags
89441000300000000012,active,10000000000,fleet
89441000300000000020,active,10000000000,fleet;x
89441000300000000038,active,10000000000,other
CSV
"$flowvm" --db "$tdb" sims import "$tmp/fleet.csv" >/dev/null
mkdir -p "$tmp/total"
cat > "$tmp/total/total.flow" <<'FLOW'
flow fleet_total {
  on    data.usage.total
  scope tags ["fleet"]
  when  event.used > 2GB
  do    { log "fleet at ${event.used}" }
}
flow join_fleet {
  on    sms.mo
  when  event.text == "join"
  do    { tag sim "fleet" }
}
flow late_total {
  on     data.usage.total
  scope  tags ["fleet"]
  when   event.used > 1GB
  active from 2026-12-05T00:00:05Z
  do     { log "late at ${event.used}" }
}
FLOW
"$flowc" build "$tmp/total" -o "$tmp/art4" >/dev/null
"$flowvm" --db "$tdb" deploy --auto-approve "$tmp"/art4/*.art --at 2026-12-01T00:00:00Z >/dev/null
usage() { printf '{"id":"%s","type":"data.usage","iccid":"8944100030000000%s","time":"2026-12-05T00:00:%02dZ","used":%s}\n' "$1" "$2" "$3" "$4"; }
{
    usage u1 0012 1 1000000000        # fleet: 1 GB
    usage u2 0038 2 5000000000        # not in the scope
    usage u3 0020 3 1500000000        # fleet: 2.5 GB, fires
    usage u4 0020 4 1600000000        # 2.6 GB: still above, no run
    usage u5 0012 5 300000000         # 1.9 GB: re-armed
    printf '{"id":"j1","type":"sms.mo","iccid":"89441000300000000038","time":"2026-12-05T00:00:06Z","from":"+1","text":"join"}\n'
    usage u6 0012 7 400000000         # with the SIM that joined: 0.4 + 1.6 + 5 GB, fires
} > "$tmp/total.ndjson"
"$flowvm" --db "$tdb" ingest "$tmp/total.ndjson" --batch 2 >/dev/null 2>&1
totals() { q "SELECT group_concat(json_extract(t.payload, '$.used'), ' ') FROM (SELECT e.payload FROM runs r JOIN events e ON e.id = r.event JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow WHERE f.name = '${1:-fleet_total}' ORDER BY r.id) t"; }
db=$tdb
expect_eq "the totals that fired: crossing 2 GB, and again once re-armed, a SIM tagged into the scope counted" \
    "2500000000 7000000000" "$(totals)"
expect_eq "a flow not yet active: its total kept, its first event the one that finds it active" 1900000000 "$(totals late_total)"
expect_eq "each total is an event of its own, kept with the runs" 7 "$(q "SELECT count(*) FROM events WHERE type = 'data.usage.total'")"
expect_in "its run's log" "fleet at 7 GB" "$(q "SELECT r.log FROM runs r JOIN events e ON e.id = r.event WHERE json_extract(e.payload, '$.used') = 7000000000")"
"$flowvm" --db "$tdb" ingest "$tmp/total.ndjson" >/dev/null 2>&1
expect_eq "events sent again: no total made again" 7 "$(q "SELECT count(*) FROM events WHERE type = 'data.usage.total'")"
printf '{"id":"p1","type":"data.usage.total","time":"2026-12-05T00:01:00Z","used":1000}\n{"id":"p2","type":"data.usage.total","time":"2026-12-05T00:02:00Z","used":9000000000}\n' |
    "$flowvm" --db "$tdb" ingest - >/dev/null 2>&1
expect_eq "a total sent by the platform is the flow's scope's: re-armed below, fired above" \
    "2500000000 7000000000 9000000000" "$(totals)"
expect_eq "the platform's total goes to every flow on it" "1900000000 9000000000" "$(totals late_total)"
db=$tmp/t.db
mkdir -p "$tmp/total_test"
cat > "$tmp/total_test/t.flow" <<'FLOW'
flow fleet_total {
  on    data.usage.total
  scope tags ["fleet"]
  when  event.used > 2GB
  do    { email ["noc@acme.example"] { subject "fleet at ${event.used}" text "t" } }
}
test "a scope's total, from its SIMs' usage" {
  sim { iccid: "89441000300000000012", tags: ["fleet"], quota: 10GB }
  sim { iccid: "89441000300000000020", tags: ["fleet", "x"], quota: 10GB }
  sim { iccid: "89441000300000000038", tags: ["other"], quota: 10GB }
  event data.usage { used: 1GB } for "89441000300000000012" at 2026-02-01T00:00:00Z
  expect nothing
  event data.usage { used: 5GB } for "89441000300000000038"
  expect nothing
  event data.usage { used: 1.5GB } for "89441000300000000020"
  expect email to "noc@acme.example" subject contains "2.5 GB"
  event data.usage { used: 1.6GB } for "89441000300000000020"
  expect nothing
}
test "a scope's total, sent as one event" {
  event data.usage.total { used: 3GB } at 2026-02-01T00:00:00Z
  expect email to "noc@acme.example" subject contains "3 GB"
}
FLOW
out=$("$flowc" test "$tmp/total_test" 2>&1)
expect_in "flowc test: totals of a scope" "2 passed, 0 failed" "$out"
echo '{}' > "$tmp/nosim.json"
echo '{"type":"data.usage.total","used":3000000000}' > "$tmp/total_ev.json"
out=$("$flowc" run "$tmp/total_test" --flow fleet_total --sim "$tmp/nosim.json" --event "$tmp/total_ev.json" 2>&1)
expect_in "flowc run: a total is its flow's scope's" '"fires":	true' "$out"

# ------------------------------------------------------------ dormant SIMs: a sim.dormant a day
ddb=$tmp/dormant.db
printf 'iccid,status,quota\n89441000300000000012,active,1000000000\n89441000300000000020,active,1000000000\n' > "$tmp/d.csv"
"$flowvm" --db "$ddb" sims import "$tmp/d.csv" >/dev/null
mkdir -p "$tmp/dormant"
cat > "$tmp/dormant/d.flow" <<'FLOW'
flow idle_10 {
  on   sim.dormant
  when event.idle >= 10d and not ("idle" in sim.tags)
  do   { tag sim "idle" log "idle ${days(event.idle)} days" }
}
flow idle_45 {
  on   sim.dormant
  when event.idle == 45d
  do   { log "45 days" }
}
FLOW
"$flowc" build "$tmp/dormant" -o "$tmp/art5" >/dev/null
"$flowvm" --db "$ddb" deploy --auto-approve "$tmp"/art5/*.art --at 2026-01-01T00:00:00Z >/dev/null
printf '{"id":"d1","type":"data.usage","iccid":"89441000300000000012","time":"2026-02-01T08:00:00Z","used":1}\n{"id":"d2","type":"data.usage","iccid":"89441000300000000020","time":"2026-02-01T08:00:00Z","used":1}\n{"id":"d3","type":"data.usage","iccid":"89441000300000000020","time":"2026-02-08T08:00:00Z","used":2}\n' |
    "$flowvm" --db "$ddb" ingest - >/dev/null 2>&1
"$flowvm" --db "$ddb" tick --until 2026-02-11T07:59:59Z >/dev/null
db=$ddb
expect_eq "a day short of 10: no run" 0 "$(q "SELECT count(*) FROM runs")"
"$flowvm" --db "$ddb" tick --until 2026-02-11T08:00:00Z >/dev/null
expect_eq "10 days idle: the flow of 10 days" "idle_10 89441000300000000012" "$(q "SELECT f.name || ' ' || r.iccid FROM runs r JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow")"
expect_eq "a sim.dormant a day, stored only when it ran a flow" 1 "$(q "SELECT count(*) FROM events WHERE type = 'sim.dormant' AND iccid = '89441000300000000012'")"
"$flowvm" --db "$ddb" tick --until 2026-03-20T00:00:00Z >/dev/null
expect_eq "45 days, once; the other SIM's usage a week later started its idle time anew" \
    "idle_10 89441000300000000012,idle_10 89441000300000000020,idle_45 89441000300000000012" \
    "$(q "SELECT group_concat(x, ',') FROM (SELECT f.name || ' ' || r.iccid AS x FROM runs r JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow ORDER BY r.started, f.name)")"
"$flowvm" --db "$ddb" tick --until 2026-03-25T08:00:00Z >/dev/null
expect_eq "the second SIM's 45 days count from its last usage" "2026-03-25T08:00:00Z" \
    "$(q "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', e.time, 'unixepoch') FROM runs r JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow JOIN events e ON e.id = r.event WHERE f.name = 'idle_45' AND r.iccid = '89441000300000000020'")"
db=$tmp/t.db

# ------------------------------------------------------------ recursion, to a fixed depth
mkdir -p "$tmp/rec"
cat > "$tmp/rec/r.flow" <<'FLOW'
sub countdown(n: int) -> int {
  if n <= 0 { return 0 }
  return countdown(n - 1) + 1
}
sub nap(n: int) -> int {
  if n <= 0 {
    wait 1h
    return 100
  }
  return nap(n - 1) + 1
}
flow count {
  on   sms.mo
  when starts_with(event.text, "c")
  do   { log "depth ${countdown(len(event.text) - 1)}" }
}
flow napper {
  on   sms.mo
  when event.text == "nap"
  do   { email ["a@acme.example"] { subject "r=${nap(3)}" text "x" } }
}
test "a wait deep inside a recursion resumes there" {
  sim     { iccid: "89441000300000000012" }
  event   sms.mo { from: "+1", text: "nap" }
  expect  nothing
  advance 1h
  expect  email to "a@acme.example" subject contains "r=103"
}
FLOW
out=$("$flowc" test "$tmp/rec" 2>&1)
expect_in "flowc test: recursion" "1 passed, 0 failed" "$out"
"$flowc" build "$tmp/rec" -o "$tmp/art6" >/dev/null
"$flowvm" --db "$db" deploy --auto-approve "$tmp"/art6/*.art --project recursion --at 2026-12-01T00:00:00Z >/dev/null || bad "deploy of the recursive flows"
{
    printf '{"id":"r1","type":"sms.mo","iccid":"89441000300000000020","time":"2026-12-04T00:00:00Z","from":"+1","text":"c%s"}\n' "$(printf 'x%.0s' $(seq 62))"
    printf '{"id":"r2","type":"sms.mo","iccid":"89441000300000000020","time":"2026-12-04T00:00:01Z","from":"+1","text":"c%s"}\n' "$(printf 'x%.0s' $(seq 63))"
} | "$flowvm" --db "$db" ingest - >/dev/null 2>&1
count_run() { q "SELECT r.id FROM runs r JOIN events e ON e.id = r.event JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow WHERE e.key = '$1' AND f.name = 'count'"; }
expect_in "64 calls deep: the run ends" '"text":"depth 62"' "$(q "SELECT log FROM runs WHERE id = $(count_run r1)")"
run=$(count_run r2)
expect_in "65: the run fails, naming flow, version, run and line" \
    "failed flow count version 1 run $run: call depth exceeded (64) (in sub countdown, line 3)" \
    "$(q "SELECT status || ' ' || error FROM runs WHERE id = $run")"

# ------------------------------------------------------------ transfer
"$flowvm" --db "$db" sims transfer 89441000300000000012 --to other >/dev/null
expect_in "transferred out" "no SIM 89441000300000000012" "$("$flowvm" --db "$db" sims show 89441000300000000012 2>&1)"
expect_in "in the new organisation" "89441000300000000012" "$("$flowvm" --db "$db" --org other sims list)"
echo '{"id":"t1","type":"sms.mo","iccid":"89441000300000000012","time":"2026-12-04T00:00:00Z","from":"+1","text":"reset"}' |
    "$flowvm" --db "$db" ingest - >/dev/null 2>&1
expect_eq "out of every scope, static ones too" 0 "$(q "SELECT count(*) FROM runs r JOIN events e ON e.id = r.event WHERE e.key = 't1'")"
expect_eq "integrity" ok "$(q 'PRAGMA integrity_check')"

# ------------------------------------------------------------ the crash test
out=$(tests/runtime/crash.sh "$build" 2>&1); rc=$?
if [ $rc -eq 0 ]; then ok; printf '%s\n' "$out" | tail -3; else bad "crash test"; printf '%s\n' "$out" | tail -20; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
