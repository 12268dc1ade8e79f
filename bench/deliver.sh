#!/usr/bin/env bash
# deliver.sh - webhook deliveries per second: `flowvm deliver` with 64 in
# flight against a local HTTPS receiver that is not the bottleneck (nginx
# answering 204, one worker process), beside `curl --parallel --parallel-max 64`
# posting the same request (flowvm's envelope and headers, caught once) the
# same number of times in the same run.
#
#   bench/deliver.sh               N=20000 deliveries, RUNS=3 rounds (medians)
#   N=50000 RUNS=5 bench/deliver.sh
#
# flowvm's figure is the whole worker: claiming rows from the outbox,
# building and signing each envelope, TLS over kept-alive connections,
# recording every attempt and result in sqlite.  curl's is the transfers only.
# Goal: at least 2,000/s with TLS, bounded memory (peak RSS printed), and no
# slower than curl's command line.  Exits 1 on a failure; a missed goal fails
# only under BENCH_STRICT=1.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
build=${BUILD:-build}
n=${N:-20000}
runs=${RUNS:-3}
flowc=$PWD/$build/flowc flowvm=$PWD/$build/flowvm
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "deliver.sh: nginx not found (scripts/deps.sh --bench installs nginx-light)" >&2; exit 1; }
tmp=$(mktemp -d)
cleanup() { [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null; sleep 0.2; rm -rf "$tmp"; }
trap cleanup EXIT

echo "== webhook deliveries: flowvm deliver (64 in flight) against curl --parallel (64), $n POSTs over TLS to nginx"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/ng"
cat > "$tmp/nginx.conf" <<CONF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $tmp/ng;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $tmp/cert.pem;
        ssl_certificate_key $tmp/key.pem;
        client_body_buffer_size 64k;
        location / { return 204; }
    }
}
CONF
"$nginx" -c "$tmp/nginx.conf" -p "$tmp" -e "$tmp/nginx.err" || { echo "deliver.sh: nginx did not start" >&2; exit 1; }
for _ in $(seq 50); do [ -s "$tmp/nginx.pid" ] && break; sleep 0.1; done
url=https://127.0.0.1:$port/hook

# one real run's webhook row, cloned N times (the body is the flow's action)
db=$tmp/flow.db
mkdir -p "$tmp/src"
cat > "$tmp/src/hook.flow" <<'FLOW'
input hook: url
flow bench_hook {
  on   data.usage
  when event.used >= 1MB
  do { webhook hook { iccid: sim.iccid, used: event.used, note: "a benchmark delivery" } }
}
FLOW
"$flowc" build "$tmp/src" -o "$tmp/art" >/dev/null || exit 1
printf '{"hook": "%s"}\n' "$url" > "$tmp/in.json"
printf 'iccid,status,quota\n89441000300000000012,active,1000000000\n' > "$tmp/sims.csv"
"$flowvm" --db "$db" sims import "$tmp/sims.csv" >/dev/null || exit 1
"$flowvm" --db "$db" deploy --auto-approve "$tmp"/art/*.art --inputs "$tmp/in.json" --at 2026-01-01T00:00:00Z >/dev/null || exit 1
echo '{"id":"e1","type":"data.usage","iccid":"89441000300000000012","time":"2026-02-01T10:00:00Z","used":5000000}' |
    "$flowvm" --db "$db" ingest - >/dev/null 2>&1 || exit 1
"$flowvm" --db "$db" webhooks allow loopback >/dev/null && "$flowvm" --db "$db" webhooks allow any-port >/dev/null
template=$(sqlite3 "$db" "SELECT id FROM outbox WHERE kind = 'webhook'")
sqlite3 "$db" "UPDATE outbox SET state = 'sent' WHERE id = $template"
cp "$db" "$tmp/base.db"
# what curl posts: the very request flowvm sends (envelope and headers),
# caught by a one-request HTTPS receiver from a copy of the store whose
# template row is pending and points at it
cp "$tmp/base.db" "$tmp/catch.db"
/usr/bin/python3 - "$tmp" <<'PY' &
import http.server, ssl, sys
tmp = sys.argv[1]
class Catch(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        open(tmp + "/body.json", "wb").write(body)
        with open(tmp + "/headers.cfg", "w") as f:
            for name in ("User-Agent", "Content-Type", "webhook-id", "webhook-timestamp", "webhook-signature"):
                f.write('header = "%s: %s"\n' % (name, self.headers[name]))
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(tmp + "/cert.pem", tmp + "/key.pem")
server = http.server.HTTPServer(("127.0.0.1", 0), Catch)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.timeout = 20
open(tmp + "/catch.port.tmp", "w").write(str(server.server_address[1]))
__import__("os").rename(tmp + "/catch.port.tmp", tmp + "/catch.port")
server.handle_request()
PY
catcher=$!
for _ in $(seq 50); do [ -s "$tmp/catch.port" ] && break; sleep 0.1; done
curl_url=https://127.0.0.1:$(cat "$tmp/catch.port")/hook
sqlite3 "$tmp/catch.db" "UPDATE outbox SET state = 'pending', next_attempt = 0, body = replace(body, '$url', '$curl_url') WHERE id = $template;
    UPDATE webhook_endpoints SET url = '$curl_url' WHERE url = '$url'"
"$flowvm" --db "$tmp/catch.db" deliver --once --quiet --ca-file "$tmp/cert.pem" >/dev/null 2>&1
wait "$catcher"
[ -s "$tmp/body.json" ] && [ -s "$tmp/headers.cfg" ] || { echo "deliver.sh: the request flowvm sends was not caught" >&2; exit 1; }
for ((i = 0; i < n; i++)); do echo "url = \"$url\""; done > "$tmp/urls.cfg"

# CPU seconds nginx's workers have used so far
nginx_cpu() { local t=0 p; for p in $(pgrep -P "$(cat "$tmp/nginx.pid")"); do t=$((t + $(awk '{ print $14 + $15 }' /proc/$p/stat))); done; echo "$t"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
flow_rates=() curl_rates=() rss=() flow_cpu=() curl_cpu=()
status=0
for ((r = 1; r <= runs; r++)); do
    cp "$tmp/base.db" "$db"; rm -f "$db-wal" "$db-shm"
    sqlite3 "$db" "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $n)
        INSERT INTO outbox (action, kind, body, next_attempt) SELECT action, 'webhook', body, 0 FROM outbox, k WHERE outbox.id = $template"
    c0=$(nginx_cpu)
    t0=$(date +%s.%N)
    ${PROFILE:-} /usr/bin/time -f "%M %e %U %S" -o "$tmp/rss" "$flowvm" --db "$db" deliver --once --quiet --max-in-flight 64 --ca-file "$tmp/cert.pem" > "$tmp/out" 2>&1 ||
        { echo "deliver.sh: flowvm deliver failed:"; cat "$tmp/out"; status=1; break; }
    t1=$(date +%s.%N)
    sent=$(sqlite3 "$db" "SELECT count(*) FROM outbox WHERE state = 'sent' AND id != $template")
    [ "$sent" = "$n" ] || { echo "deliver.sh: $sent of $n delivered"; cat "$tmp/out"; status=1; break; }
    flow_rates+=("$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')")
    c1=$(nginx_cpu)
    rss+=("$(cut -d" " -f1 "$tmp/rss")"); [ -n "${VERBOSE:-}" ] && echo "flowvm: peak KB, wall, user, sys: $(cat "$tmp/rss")"
    c2=$(nginx_cpu)
    t0=$(date +%s.%N)
    ${CURL_PROFILE:-} /usr/bin/time -f "%M %e %U %S" -o "$tmp/curl.rss" curl -s --parallel --parallel-max 64 --cacert "$tmp/cert.pem" -K "$tmp/headers.cfg" \
        --data-binary @"$tmp/body.json" -K "$tmp/urls.cfg" -o /dev/null -w '%{http_code}\n' > "$tmp/codes" 2>/dev/null || true
    t1=$(date +%s.%N)
    c3=$(nginx_cpu)
    [ -n "${VERBOSE:-}" ] && echo "nginx CPU ticks: during flowvm $((c1 - c0)), during curl $((c3 - c2))"
    ok=$(grep -c '^204$' "$tmp/codes")
    [ "$ok" = "$n" ] || echo "deliver.sh: curl got $ok answers 204 of $n: $(sort "$tmp/codes" | uniq -c | grep -v " 204$" | tr "\n" " ")"
    curl_rates+=("$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')")
    # CPU time per delivery (user + system): steadier than rates on a busy machine
    flow_cpu+=("$(awk -v n="$n" '{ printf "%.1f", ($3 + $4) * 1e6 / n }' "$tmp/rss")")
    curl_cpu+=("$(awk -v n="$n" '{ printf "%.1f", ($3 + $4) * 1e6 / n }' "$tmp/curl.rss")")
    echo "round $r: flowvm deliver ${flow_rates[-1]}/s, ${flow_cpu[-1]} us CPU each (peak RSS $(( ${rss[-1]} / 1024 )) MB);" \
         "curl --parallel ${curl_rates[-1]}/s, ${curl_cpu[-1]} us CPU each"
done
[ "$status" = 0 ] || exit 1
f=$(median "${flow_rates[@]}") c=$(median "${curl_rates[@]}")
echo "median: flowvm deliver $f deliveries/s, curl --parallel $c/s (flowvm / curl $(awk -v a="$f" -v b="$c" 'BEGIN { printf "%.2f", a / b }'));" \
     "CPU per delivery: flowvm $(median "${flow_cpu[@]}") us, curl $(median "${curl_cpu[@]}") us"
if [ "$f" -ge 2000 ] && [ "$f" -ge "$c" ]; then
    echo "goal met: at least 2,000/s and no slower than curl"
else
    echo "GOAL MISSED: at least 2,000/s with TLS and no slower than curl --parallel"
    [ "${BENCH_STRICT:-0}" = 0 ] || exit 1
fi
