#!/usr/bin/env bash
# ingest.sh - `flowvm ingest` of the peer workload's events (bench/gen_peer.py,
# bench/README.md, part 2) into a durable store: 100,000 SIMs, the 50
# flows of bench/flow_peer.c deployed, EVENTS data.usage events (default
# 2,000,000) as NDJSON.  Prints events/s, the cost split (parse, evaluate,
# commit), peak RSS, and checks the firings (43,176 for the full workload).
#   EVENTS=500000 bench/ingest.sh    a shorter run
#   BATCH=5000 bench/ingest.sh       events per transaction
#   FLOW_SYNC=FULL bench/ingest.sh   fsync every commit (default: WAL, synchronous=NORMAL)
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
build=${BUILD:-build}
out=$build/bench/ingest
events=${EVENTS:-2000000}
batch=${BATCH:-5000}
flowc=$build/flowc flowvm=$build/flowvm
mkdir -p "$out" || exit 2
[ -x "$build/bench/flow_peer" ] || make -s "$build/bench/flow_peer" >/dev/null || exit 2

echo "== flowvm ingest: the peer workload ($events events, 100,000 SIMs, 50 flows) into $out/peer.db"
# the 50 flows as three projects (a project holds at most 20)
rm -rf "$out/src" "$out/art" && mkdir -p "$out/src" "$out/art"
"$build/bench/flow_peer" --source | awk -v dir="$out/src" '
    /^\/\/ The peer workload.s flows/ { n++ } { print > (dir "/p" n ".flow") }'
for f in "$out"/src/p*.flow; do
    n=$(basename "$f" .flow) p=$out/src/$(basename "$f" .flow)
    mkdir -p "$p" "$out/art/$n" && mv "$f" "$p/" && "$flowc" build "$p" -o "$out/art/$n" >/dev/null || exit 1
done
[ -s "$out/sims.ndjson" ] || bench/gen_peer.py sims > "$out/sims.ndjson"
if [ ! -s "$out/events-$events.ndjson" ]; then
    rm -f "$out"/events-*.ndjson
    bench/gen_peer.py events "$events" > "$out/events-$events.ndjson"
fi
db=$out/peer.db
rm -f "$db" "$db-wal" "$db-shm"
"$flowvm" --db "$db" sims import "$out/sims.ndjson" >/dev/null || exit 1
for p in "$out"/art/p*; do   # one deployment project each (a project holds at most 20 flows)
    "$flowvm" --db "$db" deploy --auto-approve "$p"/*.art --project "$(basename "$p")" --at 2027-01-01T00:00:00Z >/dev/null || exit 1
done
report=$("$flowvm" --db "$db" ingest "$out/events-$events.ndjson" --batch "$batch") || { echo "$report"; exit 1; }
echo "$report" | sed 's/^/  /'
fires=$(sqlite3 "$db" "SELECT count(*) FROM runs")
echo "  fires=$fires (sync: ${FLOW_SYNC:-NORMAL}, batch: $batch, $(du -h "$db" | cut -f1) store)"
if [ "$events" -eq 2000000 ] && [ "$fires" -ne 43176 ]; then
    echo "ingest.sh: $fires firings, the workload's checksum says 43176" >&2
    exit 1
fi
