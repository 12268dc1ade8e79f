#!/usr/bin/env bash
# http.sh - event ingestion over HTTP: `flowvm serve` taking POST /v1/events
# from wrk (one thread, CONNS connections, DURATION seconds per case), with
# NDJSON batches of BATCH events per request (default 100) and with one event
# per request (application/json), beside nginx answering 202 '{}' to the same
# POSTs on the same machine in the same run: the ceiling of an HTTP server
# that does nothing with the body.
#
#   bench/http.sh                     DURATION=10 s a case, CONNS=32, SIMS=10000
#   DURATION=30 CONNS=64 bench/http.sh
#   NGINX_AUTO=0 bench/http.sh        skip nginx with worker_processes auto
#   FLOW_SYNC=FULL bench/http.sh      fsync every commit (default: WAL, synchronous=NORMAL)
#   SERVE_ARGS=--no-worker bench/http.sh   more arguments of flowvm serve
#   KEEP=1 bench/http.sh              keep the temporary directory (store, logs, wrk outputs)
#   BENCH_STRICT=1 bench/http.sh      exit 1 when a goal is missed
#   ROUNDS=5 bench/http.sh            rounds of the single-event pair (default 3)
#
# The store: SIMS generated SIMs (scripts/gen_fleet.py), the flows of flows/
# deployed (as scripts/demo.sh does).  Every event is a data.usage event with
# a fresh id (run, case, wrk thread, counter: none is a duplicate), a SIM of
# the store and the current time.  Accepted events are counted as rows added
# to the store's events table during the case, divided by wrk's duration:
# what was committed, not what wrk sent.  flowvm serve answers from one thread
# (its HTTP loop, which also commits), so the nginx it is held against
# has worker_processes 1; nginx with worker_processes auto is shown too.
#
# The single-event case swings by a third from one run to the next on a
# shared two-core machine, and nginx's with it, but not together: after the
# table, ROUNDS more rounds of flowvm then nginx (1 worker) on single events
# give a ratio each, and the unbatched goal is judged on their median.
#
# Goals: batched >= 50,000 durable events/s; unbatched >= half of nginx's
# (worker_processes 1) requests/s on the same single-event POSTs.  Exits 1
# when a case fails (server down, a non-2xx answer, a socket error, events
# missing from the store); a missed goal fails only under BENCH_STRICT=1.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
build=${BUILD:-build}
duration=${DURATION:-10}
conns=${CONNS:-32}
nsims=${SIMS:-10000}
batch=${BATCH:-100}
flowc=$PWD/$build/flowc flowvm=$PWD/$build/flowvm
nginx=$(command -v nginx || echo /usr/sbin/nginx)
for v in duration conns nsims batch; do
    case ${!v} in '' | *[!0-9]* | 0) echo "http.sh: ${v^^} must be a positive integer" >&2; exit 2 ;; esac
done
command -v wrk >/dev/null || { echo "http.sh: wrk not found (scripts/deps.sh --bench installs it)" >&2; exit 1; }
[ -x "$nginx" ] || { echo "http.sh: nginx not found (scripts/deps.sh --bench installs nginx-light)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "http.sh: sqlite3 not found" >&2; exit 1; }
[ -x "$flowvm" ] && [ -x "$flowc" ] || { echo "http.sh: build $flowvm and $flowc first (make)" >&2; exit 1; }

tmp=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    for p in "$tmp"/nginx*.pid; do [ -s "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
    sleep 0.2
    if [ -n "${KEEP:-}" ]; then echo "http.sh: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ratio() { # ratio A B: A / B, or - when either is missing
    case "$1$2" in *-*|'') echo - ;; *) awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }' ;; esac
}

echo "== HTTP ingestion: flowvm serve${SERVE_ARGS:+ $SERVE_ARGS} against nginx (return 202), wrk -t1 -c$conns -d${duration}s a case, $nsims SIMs, flows/ deployed"

# ------------------------------------------------------------ the store
db=$tmp/flow.db
"$flowc" build flows -o "$tmp/art" >/dev/null || { echo "http.sh: flowc build flows failed" >&2; exit 1; }
echo '{"usage_hook": "https://hooks.acme.example/usage"}' > "$tmp/inputs.json"
python3 scripts/gen_fleet.py sims "$nsims" > "$tmp/sims.csv" || exit 1
"$flowvm" --db "$db" --org acme sims import "$tmp/sims.csv" >/dev/null || { echo "http.sh: sims import failed" >&2; exit 1; }
"$flowvm" --db "$db" --org acme deploy --auto-approve "$tmp"/art/*.art --inputs "$tmp/inputs.json" \
    --at "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" >/dev/null || { echo "http.sh: deploy failed" >&2; exit 1; }
token=$("$flowvm" --db "$db" --org acme tokens create --role admin 2>/dev/null) && [ -n "$token" ] ||
    { echo "http.sh: tokens create failed" >&2; exit 1; }

# ------------------------------------------------------------ the servers
# shellcheck disable=SC2086
"$flowvm" --db "$db" serve --listen 127.0.0.1:0 ${SERVE_ARGS:-} > "$tmp/serve.out" 2> "$tmp/serve.err" &
server_pid=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/serve.out")
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
[ -n "$port" ] || { echo "http.sh: flowvm serve did not start:"; cat "$tmp/serve.out" "$tmp/serve.err"; exit 1; } >&2
flow_url=http://127.0.0.1:$port/v1/events

# start_nginx NAME WORKERS: an nginx answering 202 '{}' to everything; prints its port
start_nginx() {
    local name=$1 workers=$2 p
    p=$(free_port)
    mkdir -p "$tmp/$name"
    cat > "$tmp/$name.conf" <<CONF
worker_processes $workers;
pid $tmp/$name.pid;
error_log $tmp/$name.err warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $tmp/$name/body;
    proxy_temp_path $tmp/$name/proxy;
    fastcgi_temp_path $tmp/$name/fastcgi;
    uwsgi_temp_path $tmp/$name/uwsgi;
    scgi_temp_path $tmp/$name/scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$p;
        client_body_buffer_size 64k;
        location / { default_type application/json; return 202 '{}'; }
    }
}
CONF
    "$nginx" -c "$tmp/$name.conf" -p "$tmp/$name" -e "$tmp/$name.err" || return 1
    for _ in $(seq 50); do [ -s "$tmp/$name.pid" ] && break; sleep 0.1; done
    [ -s "$tmp/$name.pid" ] || return 1
    echo "$p"
}
stop_nginx() { [ -s "$tmp/$1.pid" ] && kill "$(cat "$tmp/$1.pid")" 2>/dev/null; rm -f "$tmp/$1.pid"; sleep 0.3; }

# ------------------------------------------------------------ the load
# wrk's script: a fresh id per event (run nonce, case, thread, counter), a SIM
# of the store (gen_fleet.py's ICCIDs: "8944100030" + 9 digits + Luhn), now.
cat > "$tmp/events.lua" <<'LUA'
local nonce, batch, token, nsims, tid
local counter, iccids, last, stamp = 0, {}, -1, ""
local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end

local function luhn(s)
    local sum, n = 0, #s
    for i = n, 1, -1 do
        local d = s:byte(i) - 48
        if (n - i) % 2 == 0 then d = d * 2; if d > 9 then d = d - 9 end end
        sum = sum + d
    end
    return tostring((10 - sum % 10) % 10)
end

function init(args)
    nonce, batch, token, nsims = args[1], tonumber(args[2]), args[3], tonumber(args[4])
    tid = tid or 1
    for i = 0, nsims - 1 do
        local body = "8944100030" .. string.format("%09d", i)
        iccids[i + 1] = body .. luhn(body)
    end
    math.randomseed(os.time() + tid)
    wrk.method = "POST"
    wrk.headers["Authorization"] = "Bearer " .. token
    wrk.headers["Content-Type"] = batch == 1 and "application/json" or "application/x-ndjson"
end

function request()
    local now = os.time()
    if now ~= last then last, stamp = now, os.date("!%Y-%m-%dT%H:%M:%SZ", now) end
    local lines = {}
    for i = 1, batch do
        counter = counter + 1
        lines[i] = string.format('{"id":"%s-%d-%d","type":"data.usage","iccid":"%s","time":"%s","used":%d}',
            nonce, tid, counter, iccids[math.random(nsims)], stamp, math.random(0, 1200000) * 1000)
    end
    return wrk.format(nil, nil, nil, table.concat(lines, "\n") .. (batch > 1 and "\n" or ""))
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
        e.status, e.connect, e.read, e.write, e.timeout))
end
LUA

nonce=r$(date +%s%N | tail -c 9)
rounds=${ROUNDS:-3}
case $rounds in '' | *[!0-9]* | 0) echo "http.sh: ROUNDS must be a positive integer" >&2; exit 2 ;; esac
status=0
# CPU ticks (user + system) of a process and its children threads/processes
cpu_ticks() {
    local t=0 p
    for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
    echo "$t"
}
events_rows() { sqlite3 "$db" "SELECT count(*) FROM events"; }
# the events table once the requests left in flight have been committed
settled_rows() {
    local a b i
    a=$(events_rows)
    for ((i = 0; i < 50; i++)); do sleep 0.2; b=$(events_rows); [ "$a" = "$b" ] && break; a=$b; done
    echo "$a"
}

# run_case LABEL URL BATCH KIND PIDS...: one wrk run; sets R_rps R_eps R_p99 R_cpu
# KIND flowvm: events are counted in the store
run_case() {
    local label=$1 url=$2 b=$3 kind=$4; shift 4
    local before=0 after=0 c0 c1 out
    [ "$kind" = flowvm ] && before=$(settled_rows)
    c0=$(cpu_ticks "$@")
    out=$(/usr/bin/time -f 'WRKCPU %U %S' wrk -t1 -c"$conns" -d"${duration}s" --timeout 10s -s "$tmp/events.lua" "$url" -- "$nonce-$label" "$b" "$token" "$nsims" 2>&1)
    c1=$(cpu_ticks "$@")
    printf '%s\n' "$out" > "$tmp/wrk-$label.out"
    local line
    line=$(printf '%s\n' "$out" | grep '^RESULT ')
    if [ -z "$line" ]; then
        echo "http.sh: $label: wrk printed no result:" >&2; printf '%s\n' "$out" | sed 's/^/  /' >&2
        status=1; R_rps=- R_eps=- R_p99=- R_cpu=- R_wrk=- R_note=; return 1
    fi
    local requests dur p99 non2xx sockerr
    requests=$(sed 's/.* requests=\([0-9]*\).*/\1/' <<<"$line")
    dur=$(sed 's/.* duration_us=\([0-9]*\).*/\1/' <<<"$line")
    p99=$(sed 's/.* p99_us=\([0-9]*\).*/\1/' <<<"$line")
    non2xx=$(sed 's/.* non2xx=\([0-9]*\).*/\1/' <<<"$line")
    sockerr=$(awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^(connect|read|write|timeout)=/) { split($i, a, "="); s += a[2] } } END { print s + 0 }' <<<"$line")
    R_rps=$(awk -v n="$requests" -v d="$dur" 'BEGIN { printf "%.0f", n * 1e6 / d }')
    R_p99=$(awk -v p="$p99" 'BEGIN { printf "%.2f", p / 1000 }')
    R_wrk=$(printf '%s\n' "$out" | awk -v d="$dur" '/^WRKCPU / { printf "%.0f%%", ($2 + $3) * 1e6 / d * 100 }')
    R_cpu=$(awk -v t="$((c1 - c0))" -v d="$dur" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f%%", t / hz * 1e6 / d * 100 }')
    if [ "$non2xx" != 0 ] || grep -q 'Non-2xx or 3xx responses' <<<"$out"; then
        echo "http.sh: $label: $non2xx answers were not 2xx ($(grep 'Non-2xx' <<<"$out" | sed 's/^ *//'))" >&2
        status=1
    fi
    if [ "$sockerr" != 0 ]; then
        echo "http.sh: $label: socket errors: $(grep -o 'connect=.*' <<<"$line")" >&2
        status=1
    fi
    if [ "$kind" = flowvm ]; then
        after=$(settled_rows)   # with the requests wrk left in flight when it stopped
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "http.sh: $label: flowvm serve is gone:" >&2; sed 's/^/  /' "$tmp/serve.out" "$tmp/serve.err" >&2
            status=1; R_eps=- R_note="server gone"; return 1
        fi
        local added=$((after - before)) sent=$((requests * b))
        # durable and acknowledged: rows added, but no more than the events of the
        # requests answered within the duration (the rest were still in flight)
        local durable=$((added < sent ? added : sent))
        R_eps=$(awk -v n="$durable" -v d="$dur" 'BEGIN { printf "%.0f", n * 1e6 / d }')
        R_note="$added rows added to events; $sent events in the $requests requests answered in $(awk -v d="$dur" 'BEGIN { printf "%.2f", d / 1e6 }') s; $(sqlite3 "$db" "SELECT count(*) FROM runs") runs in the store so far"
        if [ "$added" -lt "$sent" ]; then
            echo "http.sh: $label: only $added rows added to events for $sent events answered 202" >&2
            sed -n '1,3p' "$tmp/serve.err" >&2
            status=1
        fi
    else
        R_eps=$(awk -v r="$R_rps" -v b="$b" 'BEGIN { printf "%.0f", r * b }')
        R_note='' 
    fi
    return 0
}

declare -A rps eps p99 cpu wcpu note
round_ratios=() round_pairs=()
R_wrk=-
record() { rps[$1]=$R_rps eps[$1]=$R_eps p99[$1]=$R_p99 cpu[$1]=$R_cpu wcpu[$1]=$R_wrk note[$1]=$R_note; }

# one short warm-up of the server (store pages, WAL), not counted
wrk -t1 -c"$conns" -d2s -s "$tmp/events.lua" "$flow_url" -- "$nonce-warm" "$batch" "$token" "$nsims" >/dev/null 2>&1

cases=()
run_case flowvm-batch "$flow_url" "$batch" flowvm "$server_pid"; record flowvm-batch; cases+=(flowvm-batch)
run_case flowvm-single "$flow_url" 1 flowvm "$server_pid"; record flowvm-single; cases+=(flowvm-single)
# nginx only while flowvm is idle, and one nginx at a time
if p=$(start_nginx nginx1 1); then
    workers=$(pgrep -P "$(cat "$tmp/nginx1.pid")" | tr '\n' ' ')
    # shellcheck disable=SC2086
    { run_case nginx1-batch "http://127.0.0.1:$p/v1/events" "$batch" nginx $workers; record nginx1-batch; }
    # shellcheck disable=SC2086
    { run_case nginx1-single "http://127.0.0.1:$p/v1/events" 1 nginx $workers; record nginx1-single; }
    cases+=(nginx1-batch nginx1-single)
    # the single-event pair again, ROUNDS times, flowvm and nginx in turn
    round_ratios=()
    for ((r = 1; r <= rounds; r++)); do
        run_case "flowvm-single-r$r" "$flow_url" 1 flowvm "$server_pid" || break
        f=$R_rps
        # shellcheck disable=SC2086
        run_case "nginx1-single-r$r" "http://127.0.0.1:$p/v1/events" 1 nginx $workers || break
        round_ratios+=("$(ratio "$f" "$R_rps")")
        round_pairs+=("$f/$R_rps")
    done
    stop_nginx nginx1
else
    echo "http.sh: nginx (worker_processes 1) did not start: $(cat "$tmp/nginx1.err" 2>/dev/null)" >&2; status=1
fi
if [ "${NGINX_AUTO:-1}" != 0 ]; then
    if p=$(start_nginx nginxauto auto); then
        workers=$(pgrep -P "$(cat "$tmp/nginxauto.pid")" | tr '\n' ' ')
        # shellcheck disable=SC2086
        { run_case nginxauto-batch "http://127.0.0.1:$p/v1/events" "$batch" nginx $workers; record nginxauto-batch; }
        # shellcheck disable=SC2086
        { run_case nginxauto-single "http://127.0.0.1:$p/v1/events" 1 nginx $workers; record nginxauto-single; }
        cases+=(nginxauto-batch nginxauto-single)
        nauto=$(echo $workers | wc -w)
        stop_nginx nginxauto
    else
        echo "http.sh: nginx (worker_processes auto) did not start: $(cat "$tmp/nginxauto.err" 2>/dev/null)" >&2
    fi
fi

kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
server_pid=
if [ -s "$tmp/serve.err" ]; then
    echo "http.sh: flowvm serve wrote to stderr:" >&2; sed -n '1,10p' "$tmp/serve.err" | sed 's/^/  /' >&2
fi

# ------------------------------------------------------------ the table
title() {
    case $1 in
        flowvm-batch) echo "flowvm serve, $batch/request" ;;
        flowvm-single) echo "flowvm serve, 1/request" ;;
        nginx1-batch) echo "nginx 1 worker, $batch/request" ;;
        nginx1-single) echo "nginx 1 worker, 1/request" ;;
        nginxauto-batch) echo "nginx auto (${nauto:-?}), $batch/request" ;;
        nginxauto-single) echo "nginx auto (${nauto:-?}), 1/request" ;;
    esac
}
echo
printf '%-30s %10s %12s %9s %10s %9s %9s\n' "case" "req/s" "events/s" "p99 ms" "vs nginx1" "srv CPU" "wrk CPU"
for c in "${cases[@]}"; do
    shape=${c##*-}
    printf '%-30s %10s %12s %9s %10s %9s %9s\n' "$(title "$c")" "${rps[$c]:--}" "${eps[$c]:--}" "${p99[$c]:--}" \
        "$(ratio "${rps[$c]:--}" "${rps[nginx1-$shape]:--}")" "${cpu[$c]:--}" "${wcpu[$c]:--}"
done
echo
for c in "${cases[@]}"; do [ -n "${note[$c]:-}" ] && printf '%-14s %s\n' "$c:" "${note[$c]}"; done
echo "events/s: for flowvm, events durable in the store (rows added to events, sync ${FLOW_SYNC:-NORMAL}) and answered"
echo "  202 within wrk's duration, per second; for nginx, req/s x events per request (nothing stored)."
echo "vs nginx1: req/s over nginx's with worker_processes 1 and the same body.  CPU: user+system / wall (100% = one core)."
echo

goal_status=0
b_eps=${eps[flowvm-batch]:--}
if [ "$b_eps" != - ] && [ "$b_eps" -ge 50000 ]; then
    echo "goal met:     batched ($batch/request) >= 50,000 durable events/s: $b_eps ($(ratio "$b_eps" 50000) of the goal)"
else
    echo "GOAL NOT MET: batched ($batch/request) >= 50,000 durable events/s: $b_eps ($(ratio "$b_eps" 50000) of the goal)"
    goal_status=1
fi
s_rps=${rps[flowvm-single]:--} n_rps=${rps[nginx1-single]:--}
if [ ${#round_ratios[@]} -gt 0 ]; then
    echo "single events, flowvm / nginx (1 worker) in $rounds more rounds: ${round_pairs[*]} req/s"
    median=$(printf '%s\n' "${round_ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
    echo "  ratios: ${round_ratios[*]}; median $median"
else
    median=$(ratio "$s_rps" "$n_rps")
fi
if [ "$median" != - ] && awk -v m="$median" 'BEGIN { exit !(m >= 0.5) }'; then
    echo "goal met:     unbatched >= half of nginx's req/s (1 worker): median ratio $median ($(ratio "$median" 0.5) of the goal)"
else
    echo "GOAL NOT MET: unbatched >= half of nginx's req/s (1 worker): median ratio $median ($(ratio "$median" 0.5) of the goal)"
    goal_status=1
fi
[ "$status" = 0 ] || exit 1
[ "$goal_status" = 0 ] || [ "${BENCH_STRICT:-0}" = 0 ] || exit 1
exit 0
