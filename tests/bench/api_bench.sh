#!/bin/bash
# SPDX-License-Identifier: ISC
#
# Benchmark of the integration API into Postgres on this machine (no
# assertions on time; run by `make bench`). Starts the api (2 workers)
# against a fresh database, then measures:
#   1. ops/s through POST /api/integration/batch: BENCH_BATCHES batches of
#      500 mixed operations (event creates, RSVPs, updates, deletes; many
#      DIDs), BENCH_CONCURRENCY requests in flight;
#   2. latency p50/p99 of BENCH_SINGLES single POST /api/integration/events
#      (curl %{time_total}, BENCH_CONCURRENCY in flight).
# Needs make services-up, jq, curl. Prints one "api_bench:" line per result
# and writes them to $BENCH_OUT/api.json (default build/bench).

. tests/lib/common.sh
t_init api_bench

API_BIN=${API_BIN:-build/bin/api}
BATCHES=${BENCH_BATCHES:-60}
SINGLES=${BENCH_SINGLES:-2000}
CONC=${BENCH_CONCURRENCY:-4}
OUT=${BENCH_OUT:-build/bench}
[ -x "$API_BIN" ] || t_skip "$API_BIN not built (make all)"
DB=$(t_new_db) || t_skip "no Postgres (make services-up)"
PORT=$(t_free_port)
BASE="http://127.0.0.1:$PORT"
export DATABASE_URL="$DB" API_LISTEN="127.0.0.1:$PORT" API_WORKERS=${API_WORKERS:-2} \
    SERVICE_API_KEYS="k-bench" SCHEMA_DIR=schema LOG_LEVEL=${BENCH_LOG_LEVEL:-warn} \
    API_BODY_MAX=4194304 API_KEY_RATE_LIMIT=off API_JSON_ITEMS_MAX=100000
t_start api "$API_BIN"
t_wait_http "$BASE/health/liveness" 30
t_wait_for 30 sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' $BASE/health/readiness) = 200 ]" ||
    { echo "api not ready"; exit 1; }

# Batch b: 200 event creates by 50 DIDs, 200 RSVPs to them (same batch,
# after their events), 50 event updates, 50 RSVP deletes.
mkdir -p "$T_DIR/batches"
for b in $(seq 1 "$BATCHES"); do
	jq -cn --argjson b "$b" '
	def tid($n): "3mpt" + ([range(8)] | map("234567abcdefghijklmnopqrstuvwxyz"[
	    (($n / pow(32; 7 - .)) | floor) % 32 : (($n / pow(32; 7 - .)) | floor) % 32 + 1]) | join("")) + "a";
	def ev($i): "at://did:plc:bench\($b)x\($i % 50)/community.lexicon.calendar.event/\(tid($b * 1000 + $i))";
	def evb($i; $name; $rev): {name: $name, startDate: "2026-12-01T18:00:00Z",
	    description: "bench event", locations: [{"$type": "community.lexicon.location.geo",
	    latitude: "48.85", longitude: "2.35"}], source: {type: "bluesky", id: ev($i),
	    metadata: {rev: $rev}, rawRecord: {name: $name}}};
	def rs($i): "at://did:plc:benchu\($b)x\($i % 80)/community.lexicon.calendar.rsvp/\(tid($b * 1000 + $i))";
	{operations: (
	  [range(200) | {op: "event.upsert", body: evb(.; "Event \(.)"; tid($b * 1000 + .))}] +
	  [range(200) | {op: "rsvp.upsert", body: {eventSourceId: ev(.), eventSourceType: "bluesky",
	    userDid: "did:plc:benchu\($b)x\(. % 80)", sourceId: rs(.), status: "going",
	    metadata: {rev: tid($b * 1000 + .)}}}] +
	  [range(50) | {op: "event.upsert", body: evb(.; "Event \(.) v2"; tid($b * 1000 + 500 + .))}] +
	  [range(50) | {op: "rsvp.delete", sourceId: rs(.), rev: tid($b * 1000 + 600 + .)}])}' \
	    >"$T_DIR/batches/$b.json"
done
echo "api_bench: batch body size $(wc -c <"$T_DIR/batches/1.json") bytes, 500 ops"

start=$(date +%s.%N)
ls "$T_DIR"/batches/*.json | xargs -P "$CONC" -I{} curl -s -m 120 -o /dev/null \
    -w '%{http_code}\n' -H 'Authorization: Bearer k-bench' -H 'x-tenant-id: bench' \
    -H 'content-type: application/json' --data-binary @{} "$BASE/api/integration/batch" \
    >"$T_DIR/batch.codes"
end=$(date +%s.%N)
ok=$(grep -c '^200$' "$T_DIR/batch.codes")
applied=$(psql -X -q -At "$DB" -c "SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM attendees)")
echo "api_bench: batches $BATCHES (ok $ok), rows $applied"
RATE=$(awk -v s="$start" -v e="$end" -v n="$((BATCHES * 500))" \
    'BEGIN { printf "%.0f", n / (e - s) }')
SECS=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')
echo "api_bench: batch ops/s=$RATE ($((BATCHES * 500)) ops in ${SECS}s, target >= 20000)"

seq 1 "$SINGLES" | xargs -P "$CONC" -I{} curl -s -m 30 -o /dev/null -w '%{http_code} %{time_total}\n' \
    -H 'Authorization: Bearer k-bench' -H 'x-tenant-id: single' -H 'content-type: application/json' \
    --data-binary '{"name":"Single {}","startDate":"2026-12-02","source":{"type":"bluesky","id":"at://did:plc:benchsingle/community.lexicon.calendar.event/k{}"}}' \
    "$BASE/api/integration/events" >"$T_DIR/single.times"
echo "api_bench: single POSTs $SINGLES ($(grep -c '^202 ' "$T_DIR/single.times") answered 202)"
read -r P50 P99 PMAX < <(awk '{print $2 * 1000}' "$T_DIR/single.times" |
    sort -n | awk '{a[NR] = $1} END { printf "%.2f %.2f %.2f\n",
    a[int(NR * 0.50) + 1], a[int(NR * 0.99)], a[NR] }')
echo "api_bench: single POST latency p50=${P50}ms p99=${P99}ms max=${PMAX}ms"
mkdir -p "$OUT"
jq -n --argjson rate "$RATE" --argjson secs "$SECS" \
    --argjson ops "$((BATCHES * 500))" --argjson ok "$ok" \
    --argjson batches "$BATCHES" --argjson rows "$applied" \
    --argjson singles "$SINGLES" --argjson s202 \
    "$(grep -c '^202 ' "$T_DIR/single.times")" --argjson p50 "$P50" \
    --argjson p99 "$P99" --argjson max "$PMAX" --argjson conc "$CONC" \
    --argjson workers "$API_WORKERS" '{batch: {ops_per_s: $rate,
    ops: $ops, seconds: $secs, batches: $batches, batches_ok: $ok,
    rows: $rows}, single: {posts: $singles, answered_202: $s202,
    p50_ms: $p50, p99_ms: $p99, max_ms: $max}, concurrency: $conc,
    api_workers: $workers}' >"$OUT/api.json"
echo "api_bench: wrote $OUT/api.json"
t_done
