#!/usr/bin/env bash
# Delivery tests against real servers on loopback, started here and stopping
# by themselves: an HTTPS receiver (receiver.py: http.server + ssl, verifying
# Standard Webhooks signatures on its own) and aiosmtpd (smtpd.py), plain and
# with STARTTLS, with test certificates made by openssl now.  The retry
# schedule runs on a simulated clock (deliver --now); timeouts and caps with
# small configured values.  Then the address matrix with loopback refused,
# and a crash test (SIGKILL mid-flight, restart).  Prints "N passed, N failed" last.
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
flowc=$PWD/$build/flowc
flowvm=$PWD/$build/flowvm
here=$PWD/tests/deliver
py=/usr/bin/python3
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"; }
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
wait_file() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }

# ------------------------------------------------------------ certificates
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
secret=whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=

# ------------------------------------------------------------ servers
"$py" "$here/receiver.py" "$tmp/cert.pem" "$tmp/key.pem" "$secret" "$tmp/hooks.log" "$tmp/https.port" 100 &
pids+=($!)
mkdir -p "$tmp/mail" "$tmp/mailtls"
"$py" "$here/smtpd.py" "$tmp/mail" "$tmp/smtp.port" 100 &
pids+=($!)
"$py" "$here/smtpd.py" "$tmp/mailtls" "$tmp/smtps.port" 100 "$tmp/cert.pem" "$tmp/key.pem" starttls &
pids+=($!)
mkdir -p "$tmp/mailimp"
"$py" "$here/smtpd.py" "$tmp/mailimp" "$tmp/smtpi.port" 100 "$tmp/cert.pem" "$tmp/key.pem" implicit &
pids+=($!)
wait_file "$tmp/https.port" && wait_file "$tmp/smtp.port" && wait_file "$tmp/smtps.port" && wait_file "$tmp/smtpi.port" || { echo "servers did not start"; echo "0 passed, 1 failed"; exit 1; }
port=$(cat "$tmp/https.port") smtp_port=$(cat "$tmp/smtp.port") smtps_port=$(cat "$tmp/smtps.port") smtpi_port=$(cat "$tmp/smtpi.port")
base=https://127.0.0.1:$port

# ------------------------------------------------------------ a run that makes a webhook and an email
mkdir -p "$tmp/src"
cat > "$tmp/src/notify.flow" <<'FLOW'
input hook: url
flow notify {
  on   data.usage
  when event.used >= 1MB
  do {
    webhook hook { iccid: sim.iccid, used: event.used }
    email ["a@x.example", "refused@refused.example", "team@groups.example", "later@later.example"] {
      subject "Données ✓ ${sim.iccid} — a subject long enough to need more than one encoded word"
      text    "plain body ${sim.iccid}"
      html    "<p>html body</p>"
      cc      ["c@x.example"]
      bcc     ["b@x.example"]
    }
  }
}
FLOW
"$flowc" build "$tmp/src" -o "$tmp/art" >/dev/null || bad "flowc build"
echo "{\"hook\": \"https://hooks.example.com/ok\"}" > "$tmp/in.json"
printf 'iccid,status,quota\n89441000300000000012,active,1000000000\n' > "$tmp/sims.csv"
fv sims import "$tmp/sims.csv" >/dev/null || bad "sims import"
fv deploy --auto-approve "$tmp"/art/*.art --inputs "$tmp/in.json" --at 2026-01-01T00:00:00Z >/dev/null || bad "deploy"
echo '{"id":"e1","type":"data.usage","iccid":"89441000300000000012","time":"2026-02-01T10:00:00Z","used":5000000}' |
    fv ingest - >/dev/null 2>&1 || bad "ingest"
expect_eq "the run put two rows in the outbox" 2 "$(q "SELECT count(*) FROM outbox")"
template=$(q "SELECT id FROM outbox WHERE kind = 'webhook'")
mailrow=$(q "SELECT id FROM outbox WHERE kind = 'email'")
q "UPDATE outbox SET state = 'sent' WHERE id = $mailrow"     # the email waits for its own section

# hook URL: a new webhook row like the template's, to URL; prints its outbox id
hook() {
    q "INSERT INTO actions (run, kind, line, body, time) SELECT run, kind, line, json_set(body, '\$.url', '$1'), time
         FROM actions WHERE id = (SELECT action FROM outbox WHERE id = $template);
       INSERT INTO outbox (action, kind, body, next_attempt) SELECT last_insert_rowid(), 'webhook',
         json_set(body, '\$.url', '$1'), ${2:-0} FROM outbox WHERE id = $template;
       INSERT INTO action_results (action, recipient, status, detail, time)
         SELECT action, '$1', 'pending', '', 0 FROM outbox WHERE id = last_insert_rowid();
       SELECT max(id) FROM outbox;"
}
T=1800000000
deliver() { fv deliver --once --ca-file "$tmp/cert.pem" --jitter 0 "$@" 2>>"$tmp/deliver.log"; }
state() { q "SELECT state || ' ' || attempts FROM outbox WHERE id = $1"; }
hits() { grep -c "\"path\": \"$1\"" "$tmp/hooks.log" 2>/dev/null || true; }
q "UPDATE outbox SET state = 'sent' WHERE id = $template"

# ------------------------------------------------------------ URL rules and settings
out=$(fv webhooks add "http://hooks.example.com/x" 2>&1)
expect_in "http refused" "only https URLs are allowed" "$out"
out=$(fv webhooks add "https://hooks.example.com:8443/x" 2>&1)
expect_in "a port refused" "only the default port is allowed" "$out"
fv webhooks allow loopback >/dev/null && fv webhooks allow any-port >/dev/null
out=$(fv webhooks settings)
expect_in "settings show loopback" "loopback allowed" "$out"
expect_in "settings show private" "private refused" "$out"
for p in ok 500 410 429 503 hang endless redirect slow; do
    fv webhooks add "$base/$p" --secret "$secret" >/dev/null || bad "webhooks add $p"
done

# ------------------------------------------------------------ delivered, signed, the envelope
id=$(hook "$base/ok")
out=$(deliver --now $T)
expect_in "one delivered" "1 delivered" "$out"
expect_eq "the row is sent" "sent 1" "$(state "$id")"
line=$(grep '"/ok"' "$tmp/hooks.log" | tail -1)
expect_in "the signature verifies" '"sig_ok": true' "$line"
body=$(printf '%s' "$line" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["body"])')
env() { printf '%s' "$body" | "$py" -c "import json,sys; e=json.load(sys.stdin); print($1)"; }
expect_eq "envelope type" "flow.notify.triggered" "$(env 'e["type"]')"
expect_eq "envelope id is the webhook-id" "$(printf '%s' "$line" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["id"])')" "$(env 'e["id"]')"
expect_eq "envelope id is kept" "$(q "SELECT delivery_id FROM outbox WHERE id = $id")" "$(env 'e["id"]')"
expect_eq "flow and version" "notify 1" "$(env 'e["data"]["flow"]["name"], e["data"]["flow"]["version"]')"
expect_eq "params" "89441000300000000012 5000000" "$(env 'e["data"]["params"]["iccid"], e["data"]["params"]["used"]')"
expect_eq "the event" "e1 data.usage" "$(env 'e["data"]["event"]["id"], e["data"]["event"]["type"]')"
expect_eq "the SIM card" "89441000300000000012" "$(env 'e["data"]["sim_card"]["iccid"]')"
expect_eq "the run" "$(q "SELECT run FROM actions WHERE id = (SELECT action FROM outbox WHERE id = $id)")" "$(env 'e["data"]["run"]')"
# sim_card, byte for byte, is the stored doc with the usage fields json_set (as SIMS_DOC_SQL makes it)
sim_doc() { q "SELECT CASE WHEN u.sim IS NULL THEN s.doc ELSE json_set(s.doc, '\$.month_usage', u.month_usage, '\$.data_left',
                 u.data_left, '\$.days_left', u.days_left) END FROM sims s LEFT JOIN sim_usage u ON u.sim = s.id
               WHERE s.iccid = '89441000300000000012'"; }
raw_sim_card() { printf '%s' "$1" | "$py" -c 'import json,sys; b=sys.stdin.read(); i=b.index("\"sim_card\":")+11; print(b[i:json.JSONDecoder().raw_decode(b, i)[1]])'; }
expect_eq "the SIM card with its usage, as json_set makes it" "$(sim_doc)" "$(raw_sim_card "$body")"
expect_eq "the SIM has usage" 1 "$(q "SELECT count(*) FROM sim_usage u JOIN sims s ON s.id = u.sim WHERE s.iccid = '89441000300000000012'")"
doc_before=$(q "SELECT doc FROM sims WHERE iccid = '89441000300000000012'")
for doc in '{ "iccid" : "89441000300000000012", "x": { "a" : [1, 2, "y z \" }"] }, "data_left": 1, "data_left" : 2 }' \
           '{}' '{"days_left": "thirty", "month_usage": 7}' '[1, 2]'; do
    q "UPDATE sims SET doc = '$doc' WHERE iccid = '89441000300000000012'"
    id=$(hook "$base/ok")
    deliver --now $T >/dev/null
    got=$(grep '"/ok"' "$tmp/hooks.log" | tail -1 | "$py" -c 'import json,sys; print(json.load(sys.stdin)["body"])')
    expect_eq "sim_card of the doc $doc" "$(sim_doc)" "$(raw_sim_card "$got")"
done
q "UPDATE sims SET doc = '$doc_before' WHERE iccid = '89441000300000000012'"
expect_eq "timestamp header is the clock's" "$T" "$(printf '%s' "$line" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["ts"])')"
expect_eq "the attempt recorded" "1|204" "$(q "SELECT number || '|' || status FROM delivery_attempts WHERE outbox = $id")"
expect_eq "the result per recipient" "done" "$(q "SELECT status FROM action_results r JOIN outbox o ON o.action = r.action WHERE o.id = $id")"

# TLS verification is always on: without the test CA the receiver's certificate is refused
id=$(hook "$base/ok")
fv deliver --once --now $T --jitter 0 >/dev/null 2>&1
expect_eq "untrusted certificate: not delivered" "pending 1" "$(state "$id")"
expect_in "untrusted certificate: said so" "certificate" "$(q "SELECT error FROM delivery_attempts WHERE outbox = $id")"
q "UPDATE outbox SET state = 'sent' WHERE id = $id"

# a rotation: both secrets sign, the receiver (old secret) still verifies
fv webhooks rotate "$base/ok" >/dev/null
id=$(hook "$base/ok")
deliver --now $T >/dev/null
line=$(grep '"/ok"' "$tmp/hooks.log" | tail -1)
expect_in "old secret verifies during a rotation" '"sig_ok": true' "$line"
expect_eq "two signatures" 2 "$(printf '%s' "$line" | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)["sigs"].split(" ")))')"
fv webhooks retire "$base/ok" >/dev/null
id=$(hook "$base/ok")
deliver --now $T >/dev/null
line=$(grep '"/ok"' "$tmp/hooks.log" | tail -1)
expect_in "after retiring the old secret the receiver refuses" '"sig_ok": false' "$line"

# ------------------------------------------------------------ the schedule on a simulated clock
id=$(hook "$base/500")
deliver --now $T --schedule 0,5,300 >/dev/null
expect_eq "500: pending after 1" "pending 1" "$(state "$id")"
expect_eq "500: next in 5 s" $((T + 5)) "$(q "SELECT next_attempt FROM outbox WHERE id = $id")"
deliver --now $((T + 4)) --schedule 0,5,300 >/dev/null
expect_eq "not before it is due" "pending 1" "$(state "$id")"
deliver --now $((T + 5)) --schedule 0,5,300 >/dev/null
expect_eq "500: second attempt" "pending 2" "$(state "$id")"
expect_eq "500: next in 300 s" $((T + 305)) "$(q "SELECT next_attempt FROM outbox WHERE id = $id")"
deliver --now $((T + 305)) --schedule 0,5,300 >/dev/null
expect_eq "500: dead after the last" "failed 3" "$(state "$id")"
expect_eq "three attempts recorded" "500,500,500" "$(q "SELECT group_concat(status) FROM delivery_attempts WHERE outbox = $id")"
expect_eq "one webhook-id across retries" 1 "$(grep '"/500"' "$tmp/hooks.log" | "$py" -c 'import json,sys; print(len({json.loads(l)["id"] for l in sys.stdin}))')"
out=$(fv deliver list --state failed)
expect_in "shown as dead" "dead" "$out"
expect_eq "its result failed" "failed" "$(q "SELECT status FROM action_results r JOIN outbox o ON o.action = r.action WHERE o.id = $id")"
# jitter: the delay stays within [d, d * 1.2]
id=$(hook "$base/500")
fv deliver --once --ca-file "$tmp/cert.pem" --now $T --schedule 0,100 2>/dev/null >/dev/null
next=$(q "SELECT next_attempt FROM outbox WHERE id = $id")
if [ "$next" -ge $((T + 100)) ] && [ "$next" -le $((T + 120)) ]; then ok; else bad "jitter out of range: $next"; fi

# 429 and 503 with Retry-After
id=$(hook "$base/429")
deliver --now $T --schedule 0,5,300 >/dev/null
expect_eq "429 waits Retry-After" $((T + 120)) "$(q "SELECT next_attempt FROM outbox WHERE id = $id")"
id=$(hook "$base/503")
deliver --now $T --schedule 0,5,300 >/dev/null
expect_eq "503 waits Retry-After" $((T + 30)) "$(q "SELECT next_attempt FROM outbox WHERE id = $id")"

# 410 disables the endpoint; the next delivery to it is dead without a request
id=$(hook "$base/410")
deliver --now $T >/dev/null
expect_eq "410: dead" "failed 1" "$(state "$id")"
expect_in "410: endpoint disabled" "disabled" "$(fv webhooks list | grep /410)"
id=$(hook "$base/410")
deliver --now $T >/dev/null
expect_eq "a disabled endpoint gets nothing" 1 "$(hits /410)"
expect_eq "and the delivery is dead" "the endpoint is disabled" "$(q "SELECT last_error FROM outbox WHERE id = $id")"

# redirects are not followed
id=$(hook "$base/redirect")
before=$(hits /ok)
deliver --now $T >/dev/null
expect_eq "redirect: retried" "pending 1" "$(state "$id")"
expect_eq "redirect: not followed" "$before" "$(hits /ok)"

# timeouts and caps
id=$(hook "$base/hang")
start=$(date +%s%N)
deliver --now $T --timeout 1000 >/dev/null
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_in "hang: timed out" "imed out" "$(q "SELECT error FROM delivery_attempts WHERE outbox = $id")"
if [ "$ms" -lt 5000 ]; then ok; else bad "hang took $ms ms"; fi
id=$(hook "$base/endless")
deliver --now $T --body-cap 65536 >/dev/null
expect_eq "endless 200: delivered" "sent 1" "$(state "$id")"
expect_in "endless: the body was cut" "cut at 65536 bytes" "$(q "SELECT error FROM delivery_attempts WHERE outbox = $id")"
expect_eq "the snippet is capped" 512 "$(q "SELECT length(response) FROM delivery_attempts WHERE outbox = $id")"
out=$(fv deliver --once --ca-file "$tmp/cert.pem" --now $T --connect-timeout 300 2>&1 >/dev/null; true)
id=$(hook "https://192.0.2.1/ok")   # TEST-NET: reserved, refused before any connect
q "UPDATE delivery_settings SET allow = allow | 128"
start=$(date +%s%N)
deliver --now $T --connect-timeout 500 >/dev/null
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_in "connect timeout" "onnect" "$(q "SELECT error FROM delivery_attempts WHERE outbox = $id")"
if [ "$ms" -lt 4000 ]; then ok; else bad "connect timeout took $ms ms"; fi
q "UPDATE delivery_settings SET allow = allow & ~128"

# ------------------------------------------------------------ the address matrix, loopback refused
fv webhooks allow loopback --off >/dev/null
matrix=("127.1" "2130706433" "0x7f.1" "017700000001" "[::1]" "[::ffff:127.0.0.1]" "169.254.169.254" "10.0.0.1" "100.64.0.1" "127.0.0.1")
reasons=("loopback" "loopback" "loopback" "loopback" "loopback" "IPv4-mapped" "metadata" "private" "shared (CGNAT)" "loopback")
ids=()
for h in "${matrix[@]}"; do ids+=("$(hook "https://$h:$port/redirect")"); done
: > "$tmp/deliver.log"
before=$(wc -l < "$tmp/hooks.log")
deliver --now $T >/dev/null
for i in "${!matrix[@]}"; do
    expect_eq "${matrix[$i]} is dead" "failed 1" "$(state "${ids[$i]}")"
    expect_in "${matrix[$i]}: reason" "refused to connect" "$(q "SELECT error FROM delivery_attempts WHERE outbox = ${ids[$i]}")"
    expect_in "${matrix[$i]}: class" "${reasons[$i]}" "$(q "SELECT error FROM delivery_attempts WHERE outbox = ${ids[$i]}")"
done
expect_eq "the reasons are logged" 10 "$(grep -c 'refused to connect' "$tmp/deliver.log")"
expect_eq "the receiver saw none of them" "$before" "$(wc -l < "$tmp/hooks.log")"
fv webhooks allow loopback >/dev/null

# ------------------------------------------------------------ email
q "UPDATE outbox SET state = 'pending', next_attempt = 0 WHERE id = $mailrow"
out=$(deliver --now $T 2>&1)
expect_eq "no profile: dead" "failed 1" "$(state "$mailrow")"
expect_in "no profile: said" "no default SMTP profile" "$(q "SELECT last_error FROM outbox WHERE id = $mailrow")"
q "UPDATE outbox SET state = 'pending', next_attempt = 0, attempts = 0 WHERE id = $mailrow;
   UPDATE action_results SET status = 'pending' WHERE action = (SELECT action FROM outbox WHERE id = $mailrow)"
MAILPW='s3cret-Passw0rd' fv smtp add local --host 127.0.0.1 --port "$smtp_port" --tls none --from alerts@flow.example \
    --from-name "Flów Alerts" --user bob --password-env MAILPW >/dev/null || bad "smtp add"
printf 's3cret-Passw0rd\n' > "$tmp/pw"
fv smtp add tls --host localhost --port "$smtps_port" --tls starttls --from alerts@flow.example \
    --user bob --password-file "$tmp/pw" >/dev/null || bad "smtp add tls"
fv smtp add imp --host localhost --port "$smtpi_port" --tls implicit --from alerts@flow.example >/dev/null || bad "smtp add imp"
out=$(fv smtp list)
expect_in "the first profile is the default" "local (default)" "$out"
expect_not_in "passwords never printed" "s3cret" "$out"
expect_in "password shown as set" "password set" "$out"
out=$(fv smtp add bad --host 127.0.0.1 --from $'x@y.example\r\nBcc: evil@x.example' 2>&1)
expect_in "CR LF in an address refused" "not an email address" "$out"
fv groups set team@groups.example m1@x.example m2@x.example >/dev/null || bad "groups set"
# the server refuses AUTH without TLS: use no credentials on the plain profile
q "UPDATE smtp_profiles SET username = '', password = '' WHERE name = 'local'"
deliver --now $T --schedule 0,60 >/dev/null
expect_eq "one message" 1 "$(ls "$tmp/mail"/*.eml 2>/dev/null | wc -l)"
env=$(cat "$tmp/mail/1.json" 2>/dev/null)
for r in a@x.example c@x.example b@x.example m1@x.example m2@x.example; do expect_in "envelope has $r" "$r" "$env"; done
expect_not_in "envelope lacks the refused" "refused@" "$env"
msg=$(cat "$tmp/mail/1.eml" 2>/dev/null)
expect_in "To header" "To: a@x.example" "$msg"
expect_in "group expanded in To" "m1@x.example" "$msg"
expect_in "Cc header" "Cc: c@x.example" "$msg"
expect_not_in "no Bcc header" "Bcc" "$msg"
expect_not_in "the bcc address hidden" "b@x.example" "$msg"
expect_in "encoded subject" "Subject: =?UTF-8?B?" "$msg"
expect_in "encoded sender name" "From: =?UTF-8?B?" "$msg"
expect_in "Date" "Date: " "$msg"
expect_in "Message-ID" "Message-ID: <msg_" "$msg"
expect_in "alternative" "multipart/alternative" "$msg"
expect_in "text part" "text/plain; charset=utf-8" "$msg"
expect_in "html part" "text/html; charset=utf-8" "$msg"
subject=$(printf '%s' "$msg" | "$py" -c 'import sys,email,email.header; m=email.message_from_string(sys.stdin.read()); print(str(email.header.make_header(email.header.decode_header(m["Subject"]))))')
expect_eq "the subject decodes" "Données ✓ 89441000300000000012 — a subject long enough to need more than one encoded word" "$subject"
parts=$(printf '%s' "$msg" | "$py" -c 'import sys,email; m=email.message_from_string(sys.stdin.read()); print(" | ".join(p.get_payload(decode=True).decode() for p in m.walk() if not p.is_multipart()))')
expect_eq "both bodies" "plain body 89441000300000000012 | <p>html body</p>" "$parts"
res() { q "SELECT status || ' ' || detail FROM action_results WHERE action = (SELECT action FROM outbox WHERE id = $mailrow) AND recipient = '$1'"; }
expect_in "accepted" "done" "$(res a@x.example)"
expect_in "refused with the server's reply" "failed 550 5.1.1 no such user here" "$(res refused@refused.example)"
expect_in "greylisted stays pending" "pending 451" "$(res later@later.example)"
expect_in "the group row" "done a group of 2 addresses" "$(res team@groups.example)"
expect_eq "the email waits for a retry" "pending 1" "$(state "$mailrow")"
deliver --now $((T + 60)) --schedule 0,60 >/dev/null
expect_eq "the retry sends only to the pending one, then the schedule ends" "failed 2" "$(state "$mailrow")"
expect_eq "no second message" 1 "$(ls "$tmp/mail"/*.eml | wc -l)"
expect_in "dead recipient" "failed" "$(res later@later.example)"
expect_not_in "the password is in no log" "s3cret" "$(cat "$tmp/deliver.log")"

# STARTTLS with the test certificate, as the named profile
q "INSERT INTO outbox (action, kind, body, next_attempt) SELECT action, 'email',
     json_set(json_set(body, '\$.to', json('[\"tls@x.example\"]')), '\$.smtp', 'tls'), 0 FROM outbox WHERE id = $mailrow;
   INSERT INTO action_results (action, recipient, status, detail, time)
     SELECT action, 'tls@x.example', 'pending', '', 0 FROM outbox WHERE id = $mailrow"
deliver --now $T >/dev/null
expect_eq "STARTTLS: one message" 1 "$(ls "$tmp/mailtls"/*.eml 2>/dev/null | wc -l)"
expect_in "STARTTLS: over TLS" '"tls": true' "$(cat "$tmp/mailtls/1.json" 2>/dev/null)"
expect_in "STARTTLS: authenticated" '"authenticated": true' "$(cat "$tmp/mailtls/1.json" 2>/dev/null)"
# implicit TLS, and a wrong password refused (and retried, not logged)
q "INSERT INTO outbox (action, kind, body, next_attempt) SELECT action, 'email',
     json_set(json_set(body, '\$.to', json('[\"imp@x.example\"]')), '\$.smtp', 'imp'), 0 FROM outbox WHERE id = $mailrow;
   INSERT INTO action_results (action, recipient, status, detail, time)
     SELECT action, 'imp@x.example', 'pending', '', 0 FROM outbox WHERE id = $mailrow"
deliver --now $T >/dev/null
expect_eq "implicit TLS: one message" 1 "$(ls "$tmp/mailimp"/*.eml 2>/dev/null | wc -l)"
expect_in "implicit TLS: over TLS" '"tls": true' "$(cat "$tmp/mailimp/1.json" 2>/dev/null)"
printf 'wrong-Passw0rd\n' > "$tmp/pw"
fv smtp add tls --host localhost --port "$smtps_port" --tls starttls --from alerts@flow.example \
    --user bob --password-file "$tmp/pw" >/dev/null || bad "smtp add tls again"
q "INSERT INTO outbox (action, kind, body, next_attempt) SELECT action, 'email',
     json_set(json_set(body, '\$.to', json('[\"tls2@x.example\"]')), '\$.smtp', 'tls'), 0 FROM outbox WHERE id = $mailrow;
   INSERT INTO action_results (action, recipient, status, detail, time)
     SELECT action, 'tls2@x.example', 'pending', '', 0 FROM outbox WHERE id = $mailrow"
wrongpw=$(q "SELECT max(id) FROM outbox")
# (aiosmtpd never answers a refused AUTH PLAIN: the attempt ends at the timeout)
deliver --now $T --timeout 1500 >/dev/null
expect_eq "a wrong password: retried" "pending 1" "$(state "$wrongpw")"
expect_not_in "no password in the log" "Passw0rd" "$(cat "$tmp/deliver.log")"
expect_not_in "no password in the attempts" "Passw0rd" "$(q "SELECT group_concat(error || response) FROM delivery_attempts")"
q "UPDATE outbox SET state = 'sent' WHERE id = $wrongpw"

# every recipient refused: the email is dead, not sent
q "INSERT INTO outbox (action, kind, body, next_attempt) SELECT action, 'email',
     json_set(json_set(json_set(body, '\$.to', json('[\"nobody@refused.example\"]')), '\$.cc', json('[]')), '\$.bcc', json('[]')), 0
     FROM outbox WHERE id = $mailrow;
   INSERT INTO action_results (action, recipient, status, detail, time)
     SELECT action, 'nobody@refused.example', 'pending', '', 0 FROM outbox WHERE id = $mailrow"
refused=$(q "SELECT max(id) FROM outbox")
deliver --now $T >/dev/null
expect_eq "all refused: dead" "failed 1" "$(state "$refused")"
expect_in "all refused: the reply kept" "550 5.1.1" "$(res nobody@refused.example)"

# ------------------------------------------------------------ crash: SIGKILL mid-flight, restart
q "UPDATE outbox SET state = 'sent' WHERE state = 'pending'"
n=200
q "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $n)
   INSERT INTO outbox (action, kind, body, next_attempt) SELECT action, 'webhook', json_set(body, '\$.url', '$base/slow'), 0
     FROM outbox, k WHERE outbox.id = $template"
first=$(q "SELECT min(id) FROM outbox WHERE state = 'pending'")
"$flowvm" --db "$db" deliver --ca-file "$tmp/cert.pem" --max-in-flight 8 >/dev/null 2>&1 &
worker=$!
for _ in $(seq 100); do [ "$(hits /slow)" -ge 30 ] && break; sleep 0.05; done
kill -9 $worker; wait $worker 2>/dev/null
sent_before=$(q "SELECT count(*) FROM outbox WHERE id >= $first AND state = 'sent'")
if [ "$sent_before" -lt "$n" ]; then ok; else bad "the worker finished before the kill"; fi
deliver --now $(( $(date +%s) + 3600 )) >/dev/null
expect_eq "after the restart every delivery is delivered or dead" 0 "$(q "SELECT count(*) FROM outbox WHERE id >= $first AND state = 'pending'")"
expect_eq "all delivered" "$n" "$(q "SELECT count(*) FROM outbox WHERE id >= $first AND state = 'sent'")"
q "SELECT delivery_id FROM outbox WHERE id >= $first" | sort > "$tmp/ids.db"
grep '"/slow"' "$tmp/hooks.log" | "$py" -c 'import json,sys; [print(json.loads(l)["id"]) for l in sys.stdin]' | sort > "$tmp/ids.seen"
expect_eq "none lost: every id reached the receiver" "$n" "$(sort -u "$tmp/ids.seen" | comm -12 - "$tmp/ids.db" | wc -l)"
expect_eq "duplicates carry ids of the store" 0 "$(sort -u "$tmp/ids.seen" | comm -23 - "$tmp/ids.db" | wc -l)"
echo "killed with $sent_before of $n recorded as sent; duplicates after the restart: $(( $(wc -l < "$tmp/ids.seen") - n ))"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
