#!/usr/bin/env bash
# The HTTP API (spec/http-api.md) against a real `flowvm serve` on 127.0.0.1,
# port 0 (the server prints the one it got): every endpoint with curl, the
# auth matrix (no token, a bad one, each role, another organisation's),
# bad inputs (400 404 405 413 415), and SIGTERM while a request is in
# flight.  Bounded waits; servers are killed at the end by the trap.
# Prints "N passed, N failed" last.
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
flowc=$PWD/$build/flowc
flowvm=$PWD/$build/flowvm
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
expect_in() { if [[ "$3" == *"$2"* ]]; then ok; else bad "$1: expected '$2' in:"; printf '%s\n' "$3" | head -20; fi; }
expect_not_in() { if [[ "$3" != *"$2"* ]]; then ok; else bad "$1: did not expect '$2' in:"; printf '%s\n' "$3" | head -20; fi; }
expect_eq() { if [ "$2" == "$3" ]; then ok; else bad "$1: expected '$2', got '$3'"; fi; }
db=$tmp/flow.db
q() { sqlite3 -cmd '.timeout 10000' "$db" "$1"; }   # waits for a writer (the server's) instead of failing
fv() { "$flowvm" --db "$db" "$@"; }

# ------------------------------------------------------------ a store with SIMs, flows, tokens
now=$(date -u -d '+2 min' +%Y-%m-%dT%H:%M:%SZ)   # after the deployment
fv --org acme sims import /dev/stdin >/dev/null <<'CSV'
iccid,package,quota
89441000300000000020,IoT-1GB,1000000000
89441000300000000038,IoT-1GB,1000000000
CSV
fv --org other sims import /dev/stdin >/dev/null <<'CSV'
iccid,package,quota
89441000300000000046,IoT-1GB,1000000000
CSV
"$flowc" build flows -o "$tmp/art" >/dev/null
echo '{"usage_hook": "https://hooks.acme.example/usage"}' > "$tmp/in.json"
fv --org acme deploy --auto-approve "$tmp"/art/*.art --inputs "$tmp/in.json" >/dev/null 2>&1
expect_eq "flows deployed" 1 "$(q "SELECT count(*) > 0 FROM flows f JOIN organisations o ON o.id = f.org WHERE o.name = 'acme'")"
user=$(fv --org acme tokens create --role user 2>/dev/null)
oper=$(fv --org acme tokens create --role operator 2>/dev/null)
admin=$(fv --org acme tokens create --role admin 2>"$tmp/tok.err")
other=$(fv --org other tokens create --role admin 2>/dev/null)
expect_in "a token is printed" "flw_" "$admin"
expect_eq "token length" 68 "${#admin}"
expect_in "shown once" "not shown again" "$(cat "$tmp/tok.err")"
expect_eq "only hashes stored" 0 "$(q "SELECT count(*) FROM api_tokens WHERE hash = '$admin' OR length(hash) != 32")"
expect_eq "four tokens" 4 "$(q "SELECT count(*) FROM api_tokens")"
out=$(fv tokens create --role root 2>&1); rc=$?
expect_eq "a bad role" 1 "$rc"
expect_in "a bad role says so" "--role takes user, operator or admin" "$out"

# ------------------------------------------------------------ the server
start_server() {   # [serve options...]: sets server, port and base
    rm -f "$tmp/serve.out"
    "$flowvm" --db "$db" serve --listen 127.0.0.1:0 "$@" >"$tmp/serve.out" 2>"$tmp/serve.err" &
    server=$!
    pids+=("$server")
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/serve.out" 2>/dev/null)
        [ -n "$port" ] && base=http://127.0.0.1:$port && return 0
        sleep 0.1
    done
    return 1
}
stop_server() {   # SIGTERM, then its exit status in rc
    kill -TERM "$server" 2>/dev/null
    rc=
    for _ in $(seq 150); do
        if ! kill -0 "$server" 2>/dev/null; then wait "$server"; rc=$?; return 0; fi
        sleep 0.1
    done
    return 1
}
start_server || bad "the server did not start: $(cat "$tmp/serve.err")"
base=http://127.0.0.1:$port
# status and body of a request: code() prints the status only
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }
body() { curl -s --max-time 10 "$@"; }
auth() { echo "Authorization: Bearer $1"; }

out=$(fv serve 2>&1); rc=$?
expect_eq "serve needs --listen" 2 "$rc"
out=$(fv serve --listen nowhere 2>&1); rc=$?
expect_in "a bad --listen" "--listen takes ADDR:PORT" "$out"

# ------------------------------------------------------------ health
expect_eq "health" 200 "$(code "$base/v1/health")"
expect_eq "health body" '{"status":"ok"}' "$(body "$base/v1/health")"
expect_eq "health: POST is 405" 405 "$(code -X POST "$base/v1/health")"
expect_in "405 names the method" "allow: get" "$(curl -s -i -X POST "$base/v1/health" | tr 'A-Z' 'a-z')"
expect_eq "unknown path" 404 "$(code "$base/v1/nothing")"
expect_in "errors are JSON" '{"error":{"code":"not_found","message":' "$(body "$base/v1/nothing")"

# ------------------------------------------------------------ events
ev() { printf '{"id":"%s","type":"data.usage","iccid":"%s","time":"%s","used":%s}' "$1" "$2" "$now" "$3"; }
post() { curl -s -w '\n%{http_code}' --max-time 20 -X POST "$base/v1/events" "$@"; }
out=$(post -H "$(auth "$oper")" -H 'Content-Type: application/json' --data-binary "$(ev h1 89441000300000000020 1000000000)")
expect_eq "one event: 202" 202 "$(tail -1 <<<"$out")"
expect_in "one event accepted" '"accepted":1' "$out"
expect_in "its line result" '{"line":1,"status":"accepted"}' "$out"
out=$(post -H "$(auth "$oper")" -H 'Content-Type: application/json' --data-binary "$(ev h1 89441000300000000020 1000000000)")
expect_in "the same id again: a duplicate" '"status":"duplicate"' "$out"
pretty=$(printf '{\n  "id": "h2",\n  "type": "data.usage",\n  "iccid": "89441000300000000038",\n  "time": "%s",\n  "used": 5\n}\n' "$now")
out=$(post -H "$(auth "$user")" -H 'Content-Type: application/json; charset=utf-8' --data-binary "$pretty")
expect_in "a user's token may not post events" '"code":"forbidden"' "$out"
out=$(post -H "$(auth "$oper")" -H 'Content-Type: application/json; charset=utf-8' --data-binary "$pretty")
expect_in "a pretty-printed event" '"accepted":1' "$out"
python3 -c 'import sys; print("{\"id\":\"long\",\"type\":\"data.usage\",\"iccid\":\"89441000300000000038\",\"time\":\"%s\",\"used\":1,\"pad\":\"%s\"}" % (sys.argv[1], "x" * 70000), end="")' "$now" > "$tmp/long.json"
out=$(post -H "$(auth "$oper")" -H 'Content-Type: application/json' --data-binary @"$tmp/long.json")
expect_in "one event over 64 KB: rejected as flowvm ingest rejects its line" '{"line":1,"status":"rejected","error":"the line is longer than 65536 bytes"}' "$out"
expect_eq "and not stored" 0 "$(q "SELECT count(*) FROM events WHERE key = 'long'")"
out=$(post -H "$(auth "$oper")" -H 'Content-Type: application/json' --data-binary '{"id":"nt","type":"data.usage","iccid":"89441000300000000038"}')
expect_in "one event refused by the engine: its reason" '"rejected":1,"duplicates":0,"unknown_sims":0,"runs":0,"results":[{"line":1,"status":"rejected","error":"missing \"time\"' "$out"
{
    ev b1 89441000300000000038 10; echo
    echo '{"id":"b2","type":"data.usage"'
    ev b3 89441000300000999999 1; echo
    echo
    printf '{"id":"b4","type":"data.usag","iccid":"89441000300000000038","time":"%s"}\n' "$now"
    ev h2 89441000300000000038 5; echo
} > "$tmp/batch.ndjson"
out=$(post -H "$(auth "$admin")" -H 'Content-Type: application/x-ndjson' --data-binary @"$tmp/batch.ndjson")
expect_eq "a batch: 202" 202 "$(tail -1 <<<"$out")"
expect_in "batch line 1" '{"line":1,"status":"accepted"}' "$out"
expect_in "batch line 2 malformed" '{"line":2,"status":"rejected","error":"malformed JSON' "$out"
expect_in "batch line 3 unknown SIM" '{"line":3,"status":"unknown_sim"}' "$out"
expect_in "batch line 5 same message as flowvm ingest" 'unknown event type \"data.usag\"' "$out"
expect_in "batch line 6 duplicate" '{"line":6,"status":"duplicate"}' "$out"
expect_in "batch totals" '"lines":6,"accepted":2,"rejected":2,"duplicates":1,"unknown_sims":1' "$out"
expect_eq "events are the other org's? no" 0 "$(q "SELECT count(*) FROM events e JOIN organisations o ON o.id = e.org WHERE o.name = 'other'")"
out=$(post -H "$(auth "$other")" -H 'Content-Type: application/json' --data-binary "$(ev h1 89441000300000000046 1)")
expect_in "ids are per organisation" '"accepted":1' "$out"
expect_eq "in the other org" 1 "$(q "SELECT count(*) FROM events e JOIN organisations o ON o.id = e.org WHERE o.name = 'other'")"
expect_eq "the flow ran: SIM suspended" suspended "$(q "SELECT status FROM sims WHERE iccid = '89441000300000000020'")"

expect_eq "events: no token 401" 401 "$(code -X POST -H 'Content-Type: application/json' --data-binary '{}' "$base/v1/events")"
expect_eq "events: bad token 401" 401 "$(code -X POST -H "$(auth flw_nope)" -H 'Content-Type: application/json' --data-binary '{}' "$base/v1/events")"
forged=flw_$(printf '%064d' 0)
expect_eq "events: forged token 401" 401 "$(code -X POST -H "$(auth "$forged")" -H 'Content-Type: application/json' --data-binary '{}' "$base/v1/events")"
expect_eq "events: Basic auth 401" 401 "$(code -X POST -u a:b -H 'Content-Type: application/json' --data-binary '{}' "$base/v1/events")"
expect_in "401 says Bearer" "www-authenticate: bearer" "$(curl -s -i "$base/v1/sims" | tr 'A-Z' 'a-z')"
expect_eq "events: GET 405" 405 "$(code -H "$(auth "$admin")" "$base/v1/events")"
expect_eq "events: text/plain 415" 415 "$(code -X POST -H "$(auth "$admin")" -H 'Content-Type: text/plain' --data-binary '{}' "$base/v1/events")"
expect_eq "events: no content type 415" 415 "$(code -X POST -H "$(auth "$admin")" -H 'Content-Type:' --data-binary '{}' "$base/v1/events")"
expect_eq "events: malformed JSON 400" 400 "$(code -X POST -H "$(auth "$admin")" -H 'Content-Type: application/json' --data-binary '{"id":' "$base/v1/events")"
expect_eq "events: two objects as json 400" 400 "$(code -X POST -H "$(auth "$admin")" -H 'Content-Type: application/json' --data-binary '{} {}' "$base/v1/events")"
expect_eq "events: an array as json 400" 400 "$(code -X POST -H "$(auth "$admin")" -H 'Content-Type: application/json' --data-binary '[]' "$base/v1/events")"
expect_eq "events: empty 400" 400 "$(code -X POST -H "$(auth "$admin")" -H 'Content-Type: application/x-ndjson' --data-binary '' "$base/v1/events")"
out=$(post -H "$(auth "$admin")" -H 'Content-Type: application/json' --data-binary '{"id":"x"}')
expect_in "an invalid event: 202 with the reason" '"status":"rejected","error":' "$(head -1 <<<"$out")"
head -c $((8 * 1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' > "$tmp/big"
expect_eq "events: over 8 MiB 413" 413 "$(code -X POST -H "$(auth "$admin")" -H 'Content-Type: application/x-ndjson' --data-binary @"$tmp/big" "$base/v1/events")"
expect_eq "events: over 8 MiB chunked 413" 413 "$(code -X POST -H "$(auth "$admin")" -H 'Content-Type: application/x-ndjson' -H 'Transfer-Encoding: chunked' --data-binary @"$tmp/big" "$base/v1/events")"
expect_eq "events: over 8 MiB without a token 401" 401 "$(code -X POST -H 'Content-Type: application/x-ndjson' --data-binary @"$tmp/big" "$base/v1/events")"
expect_eq "still serving" 200 "$(code "$base/v1/health")"

# ------------------------------------------------------------ runs
expect_eq "runs: no token 401" 401 "$(code "$base/v1/runs")"
expect_eq "runs: user 403" 403 "$(code -H "$(auth "$user")" "$base/v1/runs")"
expect_in "403 is JSON" '"code":"forbidden"' "$(body -H "$(auth "$user")" "$base/v1/runs")"
expect_eq "runs: operator 200" 200 "$(code -H "$(auth "$oper")" "$base/v1/runs")"
expect_eq "runs: admin 200" 200 "$(code -H "$(auth "$admin")" "$base/v1/runs")"
expect_eq "runs: POST 405" 405 "$(code -X POST -H "$(auth "$admin")" "$base/v1/runs")"
out=$(body -H "$(auth "$oper")" "$base/v1/runs")
expect_in "runs list" '"flow":"usage_cap"' "$out"
run=$(q "SELECT min(r.id) FROM runs r JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow JOIN organisations o ON o.id = f.org WHERE o.name = 'acme' AND f.name = 'usage_cap'")
expect_eq "runs filtered by flow and SIM" "$(q "SELECT count(*) FROM runs r JOIN versions v ON v.id = r.version JOIN flows f ON f.id = v.flow WHERE f.name = 'usage_cap' AND r.iccid = '89441000300000000020'")" \
    "$(body -H "$(auth "$oper")" "$base/v1/runs?flow=usage_cap&sim=89441000300000000020" | grep -o '"flow":' | wc -l)"
expect_eq "runs limit" 1 "$(body -H "$(auth "$oper")" "$base/v1/runs?limit=1" | grep -o '"flow":' | wc -l)"
expect_eq "runs: bad limit 400" 400 "$(code -H "$(auth "$oper")" "$base/v1/runs?limit=0")"
expect_eq "runs: bad status 400" 400 "$(code -H "$(auth "$oper")" "$base/v1/runs?status=maybe")"
expect_eq "runs: another org sees none" '{"runs":[]}' "$(body -H "$(auth "$other")" "$base/v1/runs")"
out=$(body -H "$(auth "$oper")" "$base/v1/runs/$run")
expect_in "one run" "\"id\":$run,\"flow\":\"usage_cap\"" "$out"
expect_in "its event" '"event":{"type":"data.usage","id":"h1"}' "$out"
expect_in "its actions" '"actions":[{"kind":' "$out"
expect_eq "run: user 403" 403 "$(code -H "$(auth "$user")" "$base/v1/runs/$run")"
expect_eq "run: another org's token 404" 404 "$(code -H "$(auth "$other")" "$base/v1/runs/$run")"
expect_eq "run: no such 404" 404 "$(code -H "$(auth "$oper")" "$base/v1/runs/999999")"
expect_eq "run: not a number 400" 400 "$(code -H "$(auth "$oper")" "$base/v1/runs/abc")"
expect_eq "run: deeper path 404" 404 "$(code -H "$(auth "$oper")" "$base/v1/runs/1/x")"
expect_eq "run: no token 401" 401 "$(code "$base/v1/runs/$run")"

# ------------------------------------------------------------ sims
expect_eq "sims: no token 401" 401 "$(code "$base/v1/sims")"
for t in user oper admin; do
    expect_eq "sims: $t 200" 200 "$(code -H "$(auth "${!t}")" "$base/v1/sims")"
done
out=$(body -H "$(auth "$user")" "$base/v1/sims")
expect_in "sims of the organisation" '"iccid":"89441000300000000020"' "$out"
expect_eq "two SIMs" 2 "$(grep -o '"iccid":' <<<"$out" | wc -l)"
expect_in "usage over the doc" '"month_usage":1000000000' "$out"
out=$(body -H "$(auth "$other")" "$base/v1/sims")
expect_eq "another org: its own SIM only" 1 "$(grep -o '"iccid":' <<<"$out" | wc -l)"
expect_in "another org: that SIM" '89441000300000000046' "$out"
expect_eq "sims limit" 1 "$(body -H "$(auth "$admin")" "$base/v1/sims?limit=1" | grep -o '"iccid":' | wc -l)"
expect_eq "sims: DELETE 405" 405 "$(code -X DELETE -H "$(auth "$admin")" "$base/v1/sims")"
q "UPDATE api_tokens SET revoked = 1 WHERE org = (SELECT id FROM organisations WHERE name = 'other')"
sleep 1.1   # a token's lookup is kept for a second
expect_eq "a revoked token 401" 401 "$(code -H "$(auth "$other")" "$base/v1/sims")"

# ------------------------------------------------------------ SIGTERM with a request in flight
# 2 MB at 1 MB/s: the upload is under way when SIGTERM comes; it finishes,
# new connections are refused, the server exits 0 and the store is closed.
for i in $(seq 20000); do ev "s$i" 89441000300000000038 1; echo; done > "$tmp/slow.ndjson"
size=$(stat -c %s "$tmp/slow.ndjson")
curl -s -o "$tmp/slow.out" -w '%{http_code}' --max-time 30 --limit-rate $((size / 2)) -X POST "$base/v1/events" \
    -H "$(auth "$admin")" -H 'Content-Type: application/x-ndjson' --data-binary @"$tmp/slow.ndjson" > "$tmp/slow.code" &
client=$!
sleep 0.7
kill -TERM "$server"
sleep 0.3
expect_eq "no new connections after SIGTERM" 000 "$(code --max-time 2 "$base/v1/health")"
wait "$client"
expect_eq "the request in flight finished" 202 "$(cat "$tmp/slow.code")"
expect_in "all its lines" '"lines":20000,"accepted":20000' "$(cat "$tmp/slow.out")"
stop_server
expect_eq "the server exits 0" 0 "$rc"
expect_in "and says so" "stopped" "$(cat "$tmp/serve.out")"
expect_eq "the events are stored" 20000 "$(q "SELECT count(*) FROM events WHERE key LIKE 's%'")"
expect_eq "no WAL left (store closed)" 0 "$( [ -s "$db-wal" ] && echo 1 || echo 0)"
[ -s "$tmp/serve.err" ] && { bad "server stderr"; head -20 "$tmp/serve.err"; }

# ------------------------------------------------------------ every example of spec/http-api.md
db=$tmp/examples.db
fv --org acme sims import /dev/stdin >/dev/null <<'CSV'
iccid,package,quota
89441000300000000020,IoT-1GB,1000000000
89441000300000000038,IoT-1GB,1000000000
CSV
fv --org other sims list >/dev/null
mkdir -p "$tmp/ex"
cp "$tmp/art/weekly_digest.art" "$tmp/ex/"
fv --org acme deploy --auto-approve $(ls "$tmp"/art/*.art | grep -v weekly_digest) --inputs "$tmp/in.json" >/dev/null 2>&1
user=$(fv --org acme tokens create --role user 2>/dev/null)
oper=$(fv --org acme tokens create --role operator 2>/dev/null)
admin=$(fv --org acme tokens create --role admin 2>/dev/null)
admin2=$(fv --org acme tokens create --role admin 2>/dev/null)
other=$(fv --org other tokens create --role admin 2>/dev/null)
start_server --no-worker || bad "the examples' server did not start"
out=$(USER=$user OPERATOR=$oper ADMIN=$admin ADMIN2=$admin2 OTHER=$other python3 tests/http/examples.py spec/http-api.md "$base" "$tmp/ex" 2>&1)
counts=$(tail -1 <<<"$out")
grep '^FAIL' -A1 <<<"$out"
ex_pass=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' <<<"$counts")
ex_fail=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' <<<"$counts")
if [ -n "$ex_pass" ] && [ "$ex_pass" -ge 40 ]; then pass=$((pass + ex_pass)); fail=$((fail + ex_fail)); else bad "examples.py: $out"; fi
expect_eq "an approval by another token: the actor names the token" 1 \
    "$(q "SELECT count(*) FROM versions v JOIN flows f ON f.id = v.flow WHERE f.name = 'weekly_digest' AND v.author LIKE 'token %' AND v.approver LIKE 'token %' AND v.author != v.approver")"

# ------------------------------------------------------------ the auth matrix: every endpoint, every role, another organisation
run=$(q "SELECT max(id) FROM runs")
changes_before=$(q "SELECT count(*) FROM audit WHERE action != 'export'")
rank() { case $1 in -) echo 0 ;; user) echo 1 ;; operator) echo 2 ;; admin) echo 3 ;; esac; }
# METHOD PATH NEEDED-ROLE OWN-RESOURCE (another organisation gets 404 for it)
while read -r method path need own; do
    [ -z "$method" ] && continue
    for who in none user oper admin other; do
        case $who in
            none) hdr=(); have=0 ;;
            user) hdr=(-H "$(auth "$user")"); have=1 ;;
            oper) hdr=(-H "$(auth "$oper")"); have=2 ;;
            *) hdr=(-H "$(auth "${!who}")"); have=3 ;;
        esac
        got=$(code -X "$method" "${hdr[@]}" "$base$path")
        if [ "$need" = - ]; then want=200
        elif [ "$who" = none ]; then want=401
        elif [ "$have" -lt "$(rank "$need")" ]; then want=403
        elif [ "$who" = other ] && [ "$own" = own ]; then want=404
        else want=ok
        fi
        if [ "$want" = ok ]; then
            if [ "$got" = 401 ] || [ "$got" = 403 ] || [ "$got" = 000 ] || [ "$got" = 500 ]; then
                bad "matrix: $who $method $path: $got"; else ok; fi
        else
            expect_eq "matrix: $who $method $path" "$want" "$got"
        fi
    done
done <<EOF
GET /v1/health - -
GET /metrics operator -
POST /v1/events operator -
GET /v1/sims user -
POST /v1/sims admin -
GET /v1/sims/89441000300000000038 user own
POST /v1/sims/89441000300000000038/transfer admin -
GET /v1/flows user -
POST /v1/flows admin -
GET /v1/flows/usage_cap user own
DELETE /v1/flows/nosuchflow admin -
GET /v1/flows/usage_cap/versions operator own
POST /v1/flows/nosuchflow/approve admin -
POST /v1/flows/nosuchflow/enable admin -
POST /v1/flows/nosuchflow/disable admin -
POST /v1/flows/nosuchflow/restore admin -
POST /v1/flows/nosuchflow/rollback admin -
GET /v1/flows/usage_cap/export operator own
GET /v1/projects/default/export operator own
POST /v1/import admin -
GET /v1/runs operator -
GET /v1/runs/$run operator own
GET /v1/audit operator -
EOF
expect_eq "the matrix changed nothing" "$changes_before" "$(q "SELECT count(*) FROM audit WHERE action != 'export'")"
out=$(body -H "$(auth "$other")" "$base/v1/flows")
expect_eq "another organisation lists none of acme's flows" '{"flows":[]}' "$out"
out=$(body -H "$(auth "$other")" "$base/v1/audit")
expect_not_in "another organisation's audit: no acme flow" "usage_cap" "$out"
out=$(body -H "$(auth "$other")" "$base/metrics")
expect_in "its metrics: none of acme's events" 'flow_events_total{result="accepted"} 0' "$out"

# ------------------------------------------------------------ flows: upload as JSON, names, path tricks
b64=$(base64 -w0 "$tmp/art/weekly_digest.art")
out=$(curl -s -w '\n%{http_code}' -X POST -H "$(auth "$admin")" -H 'Content-Type: application/json' \
    --data-binary "{\"artifact\":\"$b64\",\"inputs\":{\"digest_to\":[\"reports@acme.example\"]},\"until\":\"2099-01-01T00:00:00Z\"}" "$base/v1/flows")
expect_eq "a JSON upload with new inputs: a draft" 201 "$(tail -1 <<<"$out")"
expect_in "the flow drafting" '"state":"drafting"' "$out"
expect_in "its inputs are kept" '"digest_to":["reports@acme.example"]' "$(body -H "$(auth "$oper")" "$base/v1/flows/weekly_digest/versions")"
out=$(curl -s -X POST -H "$(auth "$admin")" -H 'Content-Type: application/json' --data-binary '{"artifact":"%%%"}' "$base/v1/flows")
expect_in "bad base64" '"message":"\"artifact\" is not base64"' "$out"
out=$(curl -s -X POST -H "$(auth "$admin")" -H 'Content-Type: application/json' \
    --data-binary "{\"artifact\":\"$b64\",\"inputs\":{\"digest_to\":42}}" "$base/v1/flows")
expect_in "an input of the wrong type: 422" '"code":"refused","message":"deploy refused: ' "$out"
out=$(curl -s -X POST -H "$(auth "$admin")" -H 'Content-Type: application/json' --data-binary "{\"artifact\":\"$b64\",\"project\":\"../etc\"}" "$base/v1/flows")
expect_in "a project with a path trick" '"\"project\" is a project name"' "$out"
expect_eq "an encoded slash in a name: no such path" 404 "$(code -H "$(auth "$user")" "$base/v1/flows/a%2F..%2Fb")"
expect_eq "an encoded dot-dot: a bad name" 400 "$(code -H "$(auth "$user")" "$base/v1/flows/%2e%2e")"
expect_eq "an encoded NUL in a name: a bad name, not a shorter one" 400 "$(code -H "$(auth "$user")" "$base/v1/flows/a%00b")"
expect_eq "a name of 65 bytes" 400 "$(code -H "$(auth "$user")" "$base/v1/flows/$(printf 'a%.0s' $(seq 65))")"
expect_eq "a path of 10,000 bytes" 404 "$(code -H "$(auth "$user")" "$base/v1/flows/$(printf 'a%.0s' $(seq 10000))/x")"
expect_eq "headers over 16 KB" 431 "$(code -H "$(auth "$user")" -H "X-Padding: $(printf 'a%.0s' $(seq 17000))" "$base/v1/flows")"
expect_eq "headers of 12 KB" 200 "$(code -H "$(auth "$user")" -H "X-Padding: $(printf 'a%.0s' $(seq 12000))" "$base/v1/flows")"
expect_eq "a run id past int64" 400 "$(code -H "$(auth "$oper")" "$base/v1/runs/99999999999999999999")"
expect_eq "limit not a number" 400 "$(code -H "$(auth "$oper")" "$base/v1/runs?limit=ten")"
expect_eq "transfer: not JSON 400" 400 "$(code -X POST -H "$(auth "$admin")" -H 'Content-Type: application/json' --data-binary 'to=other' "$base/v1/sims/89441000300000000038/transfer")"
expect_eq "transfer: an unknown organisation 422" 422 "$(code -X POST -H "$(auth "$admin")" -H 'Content-Type: application/json' --data-binary '{"to":"nobody"}' "$base/v1/sims/89441000300000000038/transfer")"
expect_eq "transfer: the same organisation 409" 409 "$(code -X POST -H "$(auth "$admin")" -H 'Content-Type: application/json' --data-binary '{"to":"acme"}' "$base/v1/sims/89441000300000000038/transfer")"
expect_eq "the SIM stayed" acme "$(q "SELECT o.name FROM sims s JOIN organisations o ON o.id = s.org WHERE s.iccid = '89441000300000000038'")"
out=$(fv --org acme tokens list)
expect_in "tokens list" "admin created" "$out"
id=$(q "SELECT max(id) FROM api_tokens WHERE role = 'user'")
fv --org acme tokens revoke "$id" >/dev/null
sleep 1.1
expect_eq "a token revoked from the CLI: 401 within a second" 401 "$(code -H "$(auth "$user")" "$base/v1/sims")"
out=$(fv --org acme tokens revoke "$id" 2>&1)
expect_in "revoked twice" "no live token" "$out"
stop_server
expect_eq "the examples' server stops" 0 "$rc"

# ------------------------------------------------------------ the scheduler and the delivery worker in the server
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
secret=whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
python3 tests/deliver/receiver.py "$tmp/cert.pem" "$tmp/key.pem" "$secret" "$tmp/hooks.log" "$tmp/https.port" 60 &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/https.port" ] && break; sleep 0.1; done
db=$tmp/worker.db
mkdir -p "$tmp/wsrc"
cat > "$tmp/wsrc/later.flow" <<'FLOW'
input hook: url
flow later {
  on   data.usage
  do {
    webhook hook { iccid: sim.iccid, used: event.used }
    wait 2s
    tag sim "waited"
  }
}
FLOW
"$flowc" build "$tmp/wsrc" -o "$tmp/wart" >/dev/null
hook=https://127.0.0.1:$(cat "$tmp/https.port")/ok
echo "{\"hook\": \"$hook\"}" > "$tmp/win.json"
fv sims import /dev/stdin >/dev/null <<'CSV'
iccid,package,quota
89441000300000000020,IoT-1GB,1000000000
CSV
fv webhooks allow loopback >/dev/null && fv webhooks allow any-port >/dev/null
fv webhooks add "$hook" --secret "$secret" >/dev/null
fv deploy --auto-approve "$tmp/wart/later.art" --inputs "$tmp/win.json" >/dev/null
wtok=$(fv tokens create --role operator 2>/dev/null)
start_server --ca-file "$tmp/cert.pem" --tick-ms 200 || bad "the worker's server did not start"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)   # the wait falls due 2 s after the event's time
out=$(post -H "$(auth "$wtok")" -H 'Content-Type: application/json' --data-binary "$(ev w1 89441000300000000020 5)")
expect_in "the event ran the flow" '"runs":1' "$out"
for _ in $(seq 100); do [ "$(q "SELECT count(*) FROM sim_tags WHERE tag = 'waited'")" = 1 ] && [ "$(q "SELECT state FROM outbox")" = sent ] && break; sleep 0.1; done
expect_eq "the scheduler resumed the wait" ok "$(q "SELECT status FROM runs")"
expect_eq "and the run went on" 1 "$(q "SELECT count(*) FROM sim_tags WHERE tag = 'waited'")"
expect_eq "the delivery worker sent the webhook" sent "$(q "SELECT state FROM outbox")"
expect_in "the receiver got it, signed" '"sig_ok": true' "$(cat "$tmp/hooks.log")"
out=$(body -H "$(auth "$wtok")" "$base/v1/runs/$(q "SELECT id FROM runs")")
expect_in "the run shows its delivery" '"delivery":{"state":"sent","attempts":1' "$out"
expect_in "and its attempt" '"history":[{"number":1' "$out"
out=$(body -H "$(auth "$wtok")" "$base/metrics")
expect_in "metrics: the run" 'flow_runs_total{status="waiting"} 1' "$out"
expect_in "metrics: the scheduler's" 'flow_runs_total{status="ok"} 1' "$out"
expect_in "metrics: deliveries" 'flow_deliveries{state="sent"} 1' "$out"
stop_server
expect_eq "the worker's server stops" 0 "$rc"
[ -s "$tmp/serve.err" ] && { bad "worker server stderr"; head -20 "$tmp/serve.err"; }

# ------------------------------------------------------------ slow clients
start_server --no-worker --timeout 2 || bad "the slow clients' server did not start"
t0=$(date +%s%N)
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'POST /v1/events HTTP/1.1\r\nHost: x\r\n' >&3
timeout 8 cat <&3 >/dev/null
exec 3>&-
elapsed=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "headers that never end: closed after the timeout" 1 "$(( elapsed >= 1500 && elapsed < 6000 ))"
t0=$(date +%s%N)
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":' "$wtok" >&3
timeout 8 cat <&3 >/dev/null
exec 3>&-
elapsed=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "a body that stalls: closed after the timeout" 1 "$(( elapsed >= 1500 && elapsed < 6000 ))"
expect_eq "the stalled event was not stored" 0 "$(q "SELECT count(*) FROM events WHERE payload LIKE '%stall%'")"
expect_eq "still serving" 200 "$(code "$base/v1/health")"
stop_server

# ------------------------------------------------------------ IPv6 loopback
if ip -6 addr show lo 2>/dev/null | grep -q '::1'; then
    "$flowvm" --db "$db" serve --listen '[::1]:0' --no-worker >"$tmp/v6.out" 2>&1 &
    v6=$!
    pids+=("$v6")
    for _ in $(seq 50); do grep -q listening "$tmp/v6.out" && break; sleep 0.1; done
    v6port=$(sed -n 's/^listening on \[::1\]:\([0-9]*\)$/\1/p' "$tmp/v6.out")
    expect_eq "IPv6: health" 200 "$(code -g "http://[::1]:$v6port/v1/health")"
    kill -TERM "$v6"; wait "$v6"
else
    ok
fi

# ------------------------------------------------------------ many clients at once
# 128 connections, each posting single events as fast as it is answered:
# with libmicrohttpd's epoll loop, a turn that took in 128 events (its most)
# waited for one more, up to the connection timeout, while every client
# waited for its answer; the server polls (MHD_USE_POLL) instead
start_server --no-worker || bad "the server for many clients did not start"
out=$(timeout 30 wrk -t1 -c128 -d5s -s tests/http/many.lua "$base/v1/events" -- "$wtok" 89441000300000000020 many 2>&1)
result=$(grep '^RESULT' <<<"$out")
expect_in "128 clients at once: every answer a 202 ($result)" "non2xx=0 connect=0 read=0 write=0 timeout=0" "$result"
idle=$(sed -n 's/.* idle_at_end=\([0-9]*\)$/\1/p' <<<"$result")
expect_eq "128 clients at once: answers until the end ($result)" 1 "$(( ${idle:-99} <= 1 ))"
expect_eq "still serving" 200 "$(code "$base/v1/health")"
stop_server

# ------------------------------------------------------------ SIGTERM under load loses nothing
start_server --no-worker || bad "the load server did not start"
mkdir -p "$tmp/load"
for c in 1 2 3 4; do
    (
        for b in $(seq 40); do
            for i in $(seq 25); do ev "L$c-$b-$i" 89441000300000000020 1; echo; done > "$tmp/load/$c-$b.ndjson"
            curl -s -o "$tmp/load/$c-$b.out" -w '%{http_code}' --max-time 20 -X POST "$base/v1/events" -H "$(auth "$wtok")" \
                -H 'Content-Type: application/x-ndjson' --data-binary @"$tmp/load/$c-$b.ndjson" > "$tmp/load/$c-$b.code"
        done
    ) &
    loaders+=($!)
done
sleep 1
stop_server
wait "${loaders[@]}"
expect_eq "the server under load exits 0" 0 "$rc"
answered=0 lost=0 phantom=0
for f in "$tmp"/load/*.code; do
    k=${f%.code}
    ids=$(grep -o '"id":"[^"]*"' "$k.ndjson" | sed 's/"id":"\(.*\)"/\1/')
    stored=$(q "SELECT count(*) FROM events WHERE key IN ($(sed "s/.*/'&'/" <<<"$ids" | paste -sd,))")
    if [ "$(cat "$f")" = 202 ]; then
        answered=$((answered + 1))
        [ "$stored" = 25 ] || lost=$((lost + 1))
    else
        [ "$stored" = 0 ] || phantom=$((phantom + 1))
    fi
done
expect_eq "some batches were answered before the stop" 1 "$(( answered > 0 ))"
expect_eq "every batch answered 202 is stored whole" 0 "$lost"
expect_eq "no batch refused is half stored" 0 "$phantom"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
