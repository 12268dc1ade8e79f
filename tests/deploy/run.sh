#!/usr/bin/env bash
# The deployment lifecycle (spec/deployments.md) on a real store: users and
# roles, drafts and approval (maker-checker), archived versions and the runs
# parked on them, history, diff, rollback, enable/disable, delete/restore,
# the 20-flow limit, the audit log.  Prints "N passed, N failed" last.
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
expect_in() { if [[ "$3" == *"$2"* ]]; then ok; else bad "$1: expected '$2' in:"; printf '%s\n' "$3" | head -20; fi; }
expect_eq() { if [ "$2" == "$3" ]; then ok; else bad "$1: expected '$2', got '$3'"; fi; }
db=$tmp/d.db
fv() { "$flowvm" --db "$db" "$@"; }
q() { sqlite3 -cmd '.timeout 10000' "$db" "$1"; }   # waits for a writer (the server's) instead of failing

flow_src() {   # NAME HOURS: suspends after waiting HOURS
cat <<FLOW
flow $1 {
  on    data.usage
  when  event.used >= 100% of sim.quota
  do    { wait $2h
          suspend sim }
}
FLOW
}
mkdir -p "$tmp/v1" "$tmp/v2"
flow_src cap 1 > "$tmp/v1/cap.flow"
flow_src cap 2 > "$tmp/v2/cap.flow"
"$flowc" build "$tmp/v1" -o "$tmp/a1" >/dev/null || bad "build v1"
"$flowc" build "$tmp/v2" -o "$tmp/a2" >/dev/null || bad "build v2"
printf 'iccid,status,quota\n89441000300000000012,active,1000000000\n89441000300000000020,active,1000000000\n' > "$tmp/sims.csv"
fv sims import "$tmp/sims.csv" >/dev/null

# ------------------------------------------------------------ users and roles
out=$(fv users add uma --role user 2>&1)
expect_in "the first user is an admin" "flowvm: the organisation's first user must be an admin" "$out"
expect_in "first admin" "added user 'ann' (admin)" "$(fv users add ann --role admin 2>&1)"
out=$(fv users add bob --role admin 2>&1)
expect_in "adding needs --as" "flowvm: adding users needs --as USER" "$out"
fv users add bob --role admin --as ann >/dev/null
fv users add olga --role operator --as ann >/dev/null
fv users add uma --role user --as ann >/dev/null
out=$(fv users add eve --role admin --as olga 2>&1)
expect_in "an operator adds no user" "flowvm: permission denied: olga is an operator; adding users needs the admin role" "$out"
out=$(fv users add x --role boss --as ann 2>&1)
expect_in "unknown role" "flowvm: --role takes user, operator or admin, not 'boss'" "$out"
out=$(fv flows --as nobody 2>&1)
expect_in "unknown user" "flowvm: no user 'nobody' in organisation 'default'" "$out"

# ------------------------------------------------------------ drafts and approval
out=$(fv deploy "$tmp/a1/cap.art" --as olga 2>&1)
expect_in "an operator does not deploy" "flowvm: permission denied: olga is an operator; deploying needs the admin role" "$out"
out=$(fv deploy --auto-approve "$tmp/a1/cap.art" 2>&1)
expect_in "--auto-approve once users exist" "flowvm: --auto-approve is only for an organisation without users: deploy --as USER" "$out"
head -c 100 "$tmp/a1/cap.art" > "$tmp/cut.art"
out=$(fv deploy "$tmp/cut.art" --as ann 2>&1)
expect_in "an artifact that fails verification" "flowvm: deploy refused: $tmp/cut.art: not a valid artifact: " "$out"
out=$(fv deploy "$tmp/a1/cap.art" --as ann --at 2026-12-01T00:00:00Z 2>&1)
expect_in "a draft" "drafted flow 'cap' version 1: waiting for approval" "$out"
expect_in "listed as a draft" "default flow cap draft draft=1" "$(fv flows --as uma)"
out=$(fv approve cap --as ann 2>&1)
expect_in "approving one's own draft" "flowvm: approval refused: ann cannot approve their own draft: flow 'cap' version 1" "$out"
out=$(fv approve cap --as olga 2>&1)
expect_in "an operator does not approve" "flowvm: permission denied: olga is an operator; approving needs the admin role" "$out"
out=$(fv approve cap --as bob --at 2026-12-01T00:00:00Z 2>&1)
expect_in "approved" "approved flow 'cap' version 1: active" "$out"
out=$(fv approve cap --as bob 2>&1)
expect_in "nothing to approve" "flowvm: approval refused: flow 'cap' has no draft waiting for approval" "$out"
out=$(fv approve nope --as bob 2>&1)
expect_in "no such flow" "flowvm: approval refused: no flow named 'nope'" "$out"

# ------------------------------------------------------------ a run parked on a version that is archived
printf '{"id":"e1","type":"data.usage","iccid":"89441000300000000012","time":"2026-12-02T10:00:00Z","used":1000000000}\n' > "$tmp/e1.ndjson"
fv ingest "$tmp/e1.ndjson" --now 2026-12-02T10:00:00Z >/dev/null
expect_eq "parked on version 1" "waiting 1" "$(q "SELECT r.status, v.number FROM runs r JOIN versions v ON v.id = r.version" | tr '|' ' ')"
out=$(fv deploy "$tmp/a2/cap.art" --as bob --at 2026-12-02T10:05:00Z 2>&1)
expect_in "a second draft" "drafted flow 'cap' version 2: waiting for approval" "$out"
expect_in "drafting: the active one stays" "default flow cap drafting active=1 draft=2" "$(fv flows --as uma)"
fv approve cap --as ann --at 2026-12-02T10:06:00Z >/dev/null
expect_eq "version 1 archived, 2 active" "1 archived
2 active" "$(q "SELECT number, state FROM versions ORDER BY number" | tr '|' ' ')"
out=$(fv tick --until 2026-12-02T11:00:00Z 2>&1)
expect_in "the parked run resumes" "1 runs resumed" "$out"
expect_eq "it finished on version 1" "ok 1" "$(q "SELECT r.status, v.number FROM runs r JOIN versions v ON v.id = r.version" | tr '|' ' ')"
printf '{"id":"e2","type":"data.usage","iccid":"89441000300000000020","time":"2026-12-02T11:30:00Z","used":1000000000}\n' > "$tmp/e2.ndjson"
fv ingest "$tmp/e2.ndjson" --now 2026-12-02T11:30:00Z >/dev/null
expect_eq "a new run uses version 2" "waiting 2" "$(q "SELECT r.status, v.number FROM runs r JOIN versions v ON v.id = r.version JOIN events e ON e.id = r.event WHERE e.key = 'e2'" | tr '|' ' ')"

# ------------------------------------------------------------ history, diff, rollback
out=$(fv versions cap --as uma 2>&1)
expect_in "a user reads no details" "flowvm: permission denied: uma is a user; reading a flow's history needs the operator role" "$out"
out=$(fv versions cap --as olga 2>&1)
expect_in "history: who" "version 2 active: created 2026-12-02T10:05:00Z by bob, active 2026-12-02T10:06:00Z approved by ann" "$out"
expect_in "history: archived" "version 1 archived: created 2026-12-01T00:00:00Z by ann, active 2026-12-01T00:00:00Z approved by bob, archived" "$out"
expect_in "history: what" "artifact sha256 " "$out"
expect_in "history: compiler" ", compiler " "$out"
out=$(fv diff cap 1 2 --as olga 2>&1)
expect_in "diff: removed" "-   do    { wait 1h" "$out"
expect_in "diff: added" "+   do    { wait 2h" "$out"
out=$(fv diff cap 1 9 --as olga 2>&1)
expect_in "diff: no such version" "flowvm: flow 'cap' has no version 9" "$out"
out=$(fv rollback cap --to 1 --as ann 2>&1)
expect_in "rollback drafts" "drafted flow 'cap' version 3 from version 1: waiting for approval" "$out"
out=$(fv rollback cap --to 7 --as ann 2>&1)
expect_in "rollback to nothing" "flowvm: rollback refused: flow 'cap' has no version 7" "$out"
out=$(fv approve cap --as ann 2>&1)
expect_in "the rollback's author does not approve it" "ann cannot approve their own draft: flow 'cap' version 3" "$out"
expect_in "rollback approved" "approved flow 'cap' version 3: active" "$(fv approve cap --as bob 2>&1)"
expect_in "history: the rollback" "version 3 active: created" "$(fv versions cap --as olga)"
expect_in "history: rolled back from" "rollback to version 1" "$(fv versions cap --as olga)"

# ------------------------------------------------------------ enable, disable, delete, restore
out=$(fv disable cap --as olga 2>&1)
expect_in "an operator does not disable" "flowvm: permission denied: olga is an operator; disabling a flow needs the admin role" "$out"
expect_in "disabled" "disabled flow 'cap'" "$(fv disable cap --as ann)"
expect_in "disabled already" "flowvm: flow 'cap' is disabled already" "$(fv disable cap --as ann 2>&1)"
printf '{"id":"e3","type":"data.usage","iccid":"89441000300000000012","time":"2026-12-02T12:00:00Z","used":1000000000}\n' > "$tmp/e3.ndjson"
fv ingest "$tmp/e3.ndjson" --now 2026-12-02T12:00:00Z >/dev/null
expect_eq "a disabled flow runs nothing" 0 "$(q "SELECT count(*) FROM runs r JOIN events e ON e.id = r.event WHERE e.key = 'e3'")"
expect_in "enabled" "enabled flow 'cap'" "$(fv enable cap --as ann)"
out=$(fv delete cap --as olga 2>&1)
expect_in "an operator does not delete" "flowvm: permission denied: olga is an operator; deleting a flow needs the admin role" "$out"
expect_in "deleted" "deleted flow 'cap'" "$(fv delete cap --as ann)"
expect_in "deleted already" "flowvm: flow 'cap' is deleted already" "$(fv delete cap --as ann 2>&1)"
expect_eq "gone from the list" "" "$(fv flows --as uma)"
out=$(fv deploy "$tmp/a1/cap.art" --as ann 2>&1)
expect_in "no draft of a deleted flow" "flowvm: deploy refused: flow 'cap' is deleted: restore it first" "$out"
printf '{"id":"e4","type":"data.usage","iccid":"89441000300000000012","time":"2026-12-02T12:30:00Z","used":1000000000}\n' > "$tmp/e4.ndjson"
fv ingest "$tmp/e4.ndjson" --now 2026-12-02T12:30:00Z >/dev/null
expect_eq "a deleted flow runs nothing" 0 "$(q "SELECT count(*) FROM runs r JOIN events e ON e.id = r.event WHERE e.key = 'e4'")"
out=$(fv tick --until 2026-12-02T13:30:00Z 2>&1)
expect_eq "its parked run finishes" "ok" "$(q "SELECT r.status FROM runs r JOIN events e ON e.id = r.event WHERE e.key = 'e2'")"
expect_in "restored" "restored flow 'cap'" "$(fv restore cap --as ann)"
expect_in "restore brings back its active version" "default flow cap active active=3" "$(fv flows --as uma)"
expect_in "not deleted" "flowvm: flow 'cap' is not deleted" "$(fv restore cap --as ann 2>&1)"

# ------------------------------------------------------------ 20 flows per project
mkdir -p "$tmp/many"
for i in $(seq 1 20); do flow_src "f$i" 1 > "$tmp/many/f$i.flow"; done
"$flowc" build "$tmp/many" -o "$tmp/am" >/dev/null || bad "build many"
out=$(fv deploy "$tmp"/am/f{1..19}.art --as ann 2>&1)
expect_in "19 more flows fit" "drafted flow 'f19' version 1" "$out"
fv deploy "$tmp/a2/cap.art" --as ann >/dev/null 2>&1
expect_eq "a draft and an active version count once" 20 "$(q "SELECT count(*) FROM flows WHERE deleted IS NULL")"
out=$(fv deploy "$tmp/am/f20.art" --as ann 2>&1)
expect_in "a 21st flow" "flowvm: deploy refused: project 'default' already has 20 flows (the limit): flow 'f20' is refused" "$out"
expect_in "another project" "drafted flow 'f20' version 1" "$(fv deploy "$tmp/am/f20.art" --as ann --project other 2>&1)"
out=$(fv deploy "$tmp/am/f20.art" --as ann --project third 2>&1)
expect_in "a flow stays in its project" "flowvm: deploy refused: flow 'f20' belongs to project 'other', not 'third'" "$out"
fv delete f19 --as ann >/dev/null
fv deploy "$tmp/am/f20.art" --as bob --project other >/dev/null
fv deploy "$tmp/am/f19.art" --as bob >/dev/null 2>&1
expect_in "--approve-as: draft and approval at once" "approved flow 'f1' version" "$(fv deploy "$tmp/a2/cap.art" "$tmp/am/f1.art" --as bob --approve-as ann 2>&1)"
out=$(fv deploy "$tmp/a1/cap.art" --as bob --approve-as bob 2>&1)
expect_in "--approve-as oneself" "flowvm: deploy refused: bob cannot approve their own draft: flow 'cap' version" "$out"
expect_eq "a refused --approve-as keeps no draft" 0 "$(q "SELECT count(*) FROM versions v JOIN flows f ON f.id = v.flow WHERE f.name = 'cap' AND v.state = 'draft'")"
fv delete f18 --as ann >/dev/null
mkdir -p "$tmp/x"; flow_src x 1 > "$tmp/x/x.flow"; "$flowc" build "$tmp/x" -o "$tmp/ax" >/dev/null
fv deploy "$tmp/ax/x.art" --as ann >/dev/null
fv restore f19 --as ann >/dev/null
out=$(fv restore f18 --as ann 2>&1)
expect_in "restore beyond the limit" "flowvm: project 'default' already has 20 flows (the limit): flow 'f18' cannot be restored" "$out"

# ------------------------------------------------------------ activation window at deploy
out=$(fv deploy "$tmp/a1/cap.art" --as ann --approve-as bob --from 2027-01-01T00:00:00Z 2>&1)
expect_in "a window given at deploy" "approved flow 'cap' version" "$out"
rearm() {   # ID TIME: an event below the quota re-arms cap for the SIM
    printf '{"id":"%s","type":"data.usage","iccid":"89441000300000000020","time":"%s","used":10}\n' "$1" "$2" > "$tmp/r.ndjson"
    fv ingest "$tmp/r.ndjson" --now "$2" >/dev/null
}
rearm r5 2026-12-02T13:59:00Z
printf '{"id":"e5","type":"data.usage","iccid":"89441000300000000020","time":"2026-12-02T14:00:00Z","used":1000000000}\n' > "$tmp/e5.ndjson"
fv ingest "$tmp/e5.ndjson" --now 2026-12-02T14:00:00Z >/dev/null
expect_eq "not active before its window" 0 "$(q "SELECT count(*) FROM runs r JOIN events e ON e.id = r.event JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow WHERE e.key = 'e5' AND f.name = 'cap'")"

fv deploy "$tmp/a2/cap.art" --as ann --approve-as bob --at 2026-12-02T14:05:00Z >/dev/null
rearm r5b 2026-12-02T14:06:00Z
printf '{"id":"e5b","type":"data.usage","iccid":"89441000300000000020","time":"2026-12-02T14:07:00Z","used":1000000000}\n' > "$tmp/e5b.ndjson"
fv ingest "$tmp/e5b.ndjson" --now 2026-12-02T14:07:00Z >/dev/null
expect_eq "without a window it runs (the control)" 1 "$(q "SELECT count(*) FROM runs r JOIN events e ON e.id = r.event JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow WHERE e.key = 'e5b' AND f.name = 'cap'")"
out=$(fv deploy "$tmp/a1/cap.art" --as ann --approve-as bob --at 2026-12-02T14:10:00Z --until 2026-12-02T14:20:00Z 2>&1)
expect_in "an expiry given at deploy" "approved flow 'cap' version" "$out"
rearm r6 2026-12-02T14:29:00Z
printf '{"id":"e6","type":"data.usage","iccid":"89441000300000000020","time":"2026-12-02T14:30:00Z","used":1000000000}\n' > "$tmp/e6.ndjson"
fv ingest "$tmp/e6.ndjson" --now 2026-12-02T14:30:00Z >/dev/null
expect_eq "not active after its expiry" 0 "$(q "SELECT count(*) FROM runs r JOIN events e ON e.id = r.event JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow WHERE e.key = 'e6' AND f.name = 'cap'")"
expect_in "the window in the history" "window until 2026-12-02T14:20:00Z" "$(fv versions cap --as olga)"
out=$(fv deploy "$tmp/a1/cap.art" 2>&1)
expect_in "deploy without --as" "flowvm: deploying needs --as USER" "$out"

# ------------------------------------------------------------ the audit log
out=$(fv audit --as uma 2>&1)
expect_in "a user reads no audit" "flowvm: permission denied: uma is a user; reading the audit log needs the operator role" "$out"
out=$(fv audit --limit 1000 --as olga 2>&1)
for a in "ann user add: user 'ann' as admin" "bob approve: flow 'cap' version 1 (drafted by ann)" "ann rollback: flow 'cap' version 3 from version 1" \
         "ann disable: flow 'cap'" "ann enable: flow 'cap'" "ann delete: flow 'cap'" "ann restore: flow 'cap'" "ann deploy: draft of flow 'cap' version 1"; do
    expect_in "audited: $a" "$a" "$out"
done

# ------------------------------------------------------------ export and import
mkdir -p "$tmp/ex"
cat > "$tmp/ex/ex.flow" <<'FLOW'
input ops: string

flow capx {
  on    data.usage
  when  event.used >= 100% of sim.quota
  do    { wait 1h
          suspend sim
          note("capped for ${ops}") }
}

sub note(why: string) {
  tag sim why
}
FLOW
"$flowc" build "$tmp/ex" -o "$tmp/aex" >/dev/null || bad "build ex"
echo '{"ops": "noc"}' > "$tmp/ops.json"
ea=$tmp/ea.db eb=$tmp/eb.db ec=$tmp/ec.db
for d in "$ea" "$eb" "$ec"; do
    "$flowvm" --db "$d" users add ann --role admin >/dev/null
    "$flowvm" --db "$d" users add bob --role admin --as ann >/dev/null
    "$flowvm" --db "$d" users add olga --role operator --as ann >/dev/null
    "$flowvm" --db "$d" users add uma --role user --as ann >/dev/null
    "$flowvm" --db "$d" sims import "$tmp/sims.csv" >/dev/null
done
out=$("$flowvm" --db "$ea" deploy "$tmp"/aex/*.art --inputs "$tmp/ops.json" --as ann --approve-as bob --at 2026-12-01T00:00:00Z 2>&1)
expect_in "the sub approved first" "approved sub 'note' version 1: active" "$out"
expect_in "then the flow" "approved flow 'capx' version 1: active" "$out"
expect_in "pinned subs in the history" "subs note version 1" "$("$flowvm" --db "$ea" versions capx --as olga)"
out=$("$flowvm" --db "$ea" export capx -o "$tmp/b.json" --as uma 2>&1)
expect_in "a user does not export" "flowvm: permission denied: uma is a user; exporting needs the operator role" "$out"
expect_in "export a flow" "exported flow capx (inputs kept) to $tmp/b.json" "$("$flowvm" --db "$ea" export capx -o "$tmp/b.json" --as olga 2>&1)"
expect_in "the bundle holds the sub" '"name":	"note"' "$(cat "$tmp/b.json")"
expect_in "and the source" 'flow capx {' "$(cat "$tmp/b.json")"
"$flowvm" --db "$ea" export --project default -o "$tmp/bs.json" --strip-inputs --as olga >/dev/null
expect_in "stripped inputs" '"inputs":	"stripped"' "$(cat "$tmp/bs.json")"
out=$("$flowvm" --db "$eb" import "$tmp/b.json" --as olga 2>&1)
expect_in "an operator does not import" "flowvm: permission denied: olga is an operator; importing needs the admin role" "$out"
out=$("$flowvm" --db "$eb" import "$tmp/b.json" --as ann 2>&1)
expect_in "import" "imported flow 'capx': 1 versions" "$out"
out=$("$flowvm" --db "$eb" import "$tmp/b.json" --as ann 2>&1)
expect_in "import twice" "flowvm: import refused: $tmp/b.json: sub 'note' exists already in this organisation: nothing imported" "$out"
out=$("$flowvm" --db "$ec" import "$tmp/bs.json" --as ann 2>&1)
expect_in "stripped inputs are needed again" "needs input 'ops' (string), which has no default: give it in --inputs" "$out"
expect_in "stripped inputs given" "imported flow 'capx'" "$("$flowvm" --db "$ec" import "$tmp/bs.json" --inputs "$tmp/ops.json" --as ann 2>&1)"
printf '{"id":"x1","type":"data.usage","iccid":"89441000300000000012","time":"2026-12-02T10:00:00Z","used":1000000000}\n{"id":"x2","type":"data.usage","iccid":"89441000300000000020","time":"2026-12-02T10:30:00Z","used":10}\n' > "$tmp/x.ndjson"
dumpdb() { sqlite3 "$1" "SELECT f.name, v.number, e.key, r.status FROM runs r JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow JOIN events e ON e.id = r.event ORDER BY e.key, f.name;
    SELECT a.kind, a.body FROM actions a JOIN runs r ON r.id = a.run JOIN events e ON e.id = r.event ORDER BY e.key, a.id;
    SELECT iccid, status FROM sims ORDER BY iccid;"; }
for d in "$ea" "$eb" "$ec"; do
    "$flowvm" --db "$d" ingest "$tmp/x.ndjson" --now 2026-12-02T10:30:00Z >/dev/null
    "$flowvm" --db "$d" tick --until 2026-12-02T12:00:00Z >/dev/null
done
expect_in "the original suspends" "suspend" "$(dumpdb "$ea")"
expect_eq "imported: the same runs and actions" "$(dumpdb "$ea")" "$(dumpdb "$eb")"
expect_eq "imported with inputs given again: the same" "$(dumpdb "$ea")" "$(dumpdb "$ec")"
echo '{"format": "something"}' > "$tmp/no.json"
expect_in "not a bundle" "flowvm: import refused: $tmp/no.json is not a Flow bundle (a JSON object with \"format\": \"flow-bundle\")" "$("$flowvm" --db "$ec" import "$tmp/no.json" --as ann 2>&1)"
"$flowvm" --db "$tmp/ed.db" users add ann --role admin >/dev/null
sed 's/"format_version":	1/"format_version":	2/' "$tmp/b.json" > "$tmp/v2.json"
expect_in "a newer bundle" "flowvm: import refused: $tmp/v2.json: bundle format version 2 is not supported (this flowvm reads version 1)" "$("$flowvm" --db "$tmp/ed.db" import "$tmp/v2.json" --as ann 2>&1)"
python3 - "$tmp/b.json" "$tmp/bad.json" <<'PY'
import json, sys, base64
b = json.load(open(sys.argv[1]))
v = b["flows"][1]["versions"][0]
raw = bytearray(base64.b64decode(v["artifact"])); raw[len(raw) // 2] ^= 0xff
v["artifact"] = base64.b64encode(bytes(raw)).decode()
json.dump(b, open(sys.argv[2], "w"))
PY
out=$("$flowvm" --db "$tmp/ed.db" import "$tmp/bad.json" --as ann 2>&1)
expect_in "an altered artifact is verified" "flowvm: import refused: $tmp/bad.json: flow 'capx' version 1: not a valid artifact: " "$out"
expect_eq "nothing imported" 0 "$(sqlite3 "$tmp/ed.db" 'SELECT count(*) FROM flows')"
expect_in "audited: export" "olga export: flow capx to $tmp/b.json" "$("$flowvm" --db "$ea" audit --as olga)"
expect_in "audited: import" "ann import: flow 'capx' with 1 versions from $tmp/b.json" "$("$flowvm" --db "$eb" audit --as olga)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
