#!/bin/bash
# SPDX-License-Identifier: ISC
#
# End-to-end benchmark, everything real on loopback: tests/bench loadsrc
# (synthetic firehose) -> consumer -> RabbitMQ (persistent, confirmed) ->
# processor -> api (Kore) -> Postgres. Each case gets a fresh database and
# vhost. The source logs (at-uri, rev, send time) of every op; after the
# run that log is loaded into the case's database and joined with the
# events/attendees rows: zero loss = every at-uri's row carries the rev of
# the last op sent for it; latency = row updated_at - send time of that op;
# committed ops/s = ops / (last commit - first send). CPU (from
# /proc/PID/stat, whole process group) and RSS (VmRSS sampled every 0.5 s,
# summed over the group; VmHWM of the main process) per service.
#
# Cases: "latency" at BENCH_LAT_RATE (1000) ops/s, "saturation" offering
# BENCH_SAT_RATE (20000) ops/s, then "sustained" at 80% of what saturation
# committed (BENCH_CASES picks some). Writes build/bench/e2e.json.
# Asserts nothing about time.

source tests/lib/common.sh
t_init bench_e2e

OUT=${BENCH_OUT:-build/bench}
# BENCH_BIN / BENCH_SCHEMA_DIR measure binaries built elsewhere (another
# checkout) with their own migrations.
BIN=${BENCH_BIN:-build/bin}
export SCHEMA_DIR=${BENCH_SCHEMA_DIR:-${SCHEMA_DIR:-schema}}
LAT_RATE=${BENCH_LAT_RATE:-1000}
LAT_S=${BENCH_LAT_S:-20}
SAT_RATE=${BENCH_SAT_RATE:-20000}
SAT_OPS=${BENCH_SAT_OPS:-20000}
SUS_S=${BENCH_SUS_S:-15}
DIDS=${BENCH_DIDS:-1000}
DRAIN_S=${BENCH_DRAIN_S:-180}
# BENCH_CASES picks cases (default all three); "sustained" without
# "saturation" runs at 80% of BENCH_SUS_FROM ops/s.
CASES=${BENCH_CASES:-latency saturation sustained}
NICE=(nice -n 5)
CLK_TCK=$(getconf CLK_TCK)
mkdir -p "$OUT"
RESULTS=$T_DIR/cases.jsonl
: >"$RESULTS"

for b in "$BIN/api" "$BIN/processor" "$BIN/consumer" \
    build/bench/bin/loadsrc; do
	if [ ! -x "$b" ]; then
		t_check "$b is built (make bench-build)" false
		t_done
	fi
done

# Sum of utime+stime ticks over a process group.
group_ticks() {
	local pid t=0 f
	for pid in $(pgrep -g "$1" 2>/dev/null); do
		f=$(cut -d' ' -f14,15 "/proc/$pid/stat" 2>/dev/null) || continue
		t=$((t + ${f% *} + ${f#* }))
	done
	echo "$t"
}

# Sum of VmRSS (kB) over a process group.
group_rss() {
	local pid r=0 v
	for pid in $(pgrep -g "$1" 2>/dev/null); do
		v=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
		r=$((r + ${v:-0}))
	done
	echo "$r"
}

hwm() {
	awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}

# Postgres and RabbitMQ are shared with anything else using the local
# servers; their CPU is reported for context.
pg_ticks() {
	local pm t=0 pid f
	# The postmaster of this checkout's cluster, else whichever process
	# listens on the Postgres port (a cluster started elsewhere).
	pm=$(head -n1 .state/pg/data/postmaster.pid 2>/dev/null) ||
	    pm=$(ss -Hltnp "sport = :$T_PG_PORT" 2>/dev/null |
	    sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n1)
	[ -n "$pm" ] || { echo 0; return; }
	for pid in "$pm" $(pgrep -P "$pm"); do
		f=$(cut -d' ' -f14,15 "/proc/$pid/stat" 2>/dev/null) || continue
		t=$((t + ${f% *} + ${f#* }))
	done
	echo "$t"
}
mq_ticks() {
	local pid f
	pid=$(ss -Hltnp "sport = :$T_AMQP_PORT" 2>/dev/null |
	    sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n1)
	f=$(cut -d' ' -f14,15 "/proc/${pid:-0}/stat" 2>/dev/null) ||
	    { echo 0; return; }
	echo $((${f% *} + ${f#* }))
}

# Main queue depth: ready + unacknowledged messages (0 when unknown).
queue_depth() {
	curl -s -m 2 -u guest:guest \
	    "$T_MGMT_URL/api/queues/${RABBITMQ_URL##*/}/community.lexicon.calendar.queue" |
	    jq -r '(.messages_ready // 0) + (.messages_unacknowledged // 0)' \
	    2>/dev/null || echo 0
}

q() {
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -c "$1"
}

# Rows whose rev is the last one sent for their at-uri.
MATCH_SQL="WITH last AS (SELECT DISTINCT ON (uri) uri, rev, sent_us
    FROM bench_log ORDER BY uri, rev DESC),
  rows AS (SELECT source_id, rev, updated_at FROM events
    UNION ALL SELECT source_id, rev, updated_at FROM attendees)
  SELECT l.uri, l.sent_us,
    (extract(epoch FROM r.updated_at) * 1e6)::bigint AS done_us
  FROM last l JOIN rows r ON r.source_id = l.uri AND r.rev = l.rev"

# Usage: run_case NAME RATE OPS. Appends one JSON object to $RESULTS and
# sets CASE_COMMITTED_RATE.
run_case() {
	local name=$1 rate=$2 ops=$3 port key log uris matched=0 end
	local t0 t1 c0 p0 a0 g0 m0 c1 p1 a1 g1 m1 cpid ppid apid
	local rc=0 rp=0 ra=0 qmax=0 idle_c idle_p sample stats src dlq
	DATABASE_URL=$(t_new_db) || return 1
	RABBITMQ_URL=$(t_new_vhost) || return 1
	export DATABASE_URL RABBITMQ_URL
	port=$(t_free_port)
	key=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	export API_LISTEN=127.0.0.1:$port API_URL=http://127.0.0.1:$port
	export SERVICE_API_KEYS=$key API_KEY=$key TENANT_ID=bench
	export LOG_LEVEL=${BENCH_LOG_LEVEL:-warn} METRICS_LISTEN=off
	# The load source's commit signatures are placeholder bytes (it has no
	# DID documents to serve), so this bench runs without the consumer's
	# signature check (VERIFY_SIGNATURES=calendar by default): its cost is
	# not in these figures (README, Performance).
	export VERIFY_SIGNATURES=off
	"$BIN/api" migrate >"$T_DIR/$name-migrate.log" 2>&1 || {
		t_check "$name: migrations apply" false
		return 1
	}
	port=$(t_free_port)
	log=$T_DIR/$name-ops.tsv
	t_start "$name-src" "${NICE[@]}" build/bench/bin/loadsrc \
	    --listen "127.0.0.1:$port" --rate "$rate" --ops "$ops" \
	    --dids "$DIDS" --hold-ms 3000 --log "$log"
	t_start "$name-api" "${NICE[@]}" "$BIN/api"
	t_wait_http "$API_URL/health/liveness" 30
	t_start "$name-processor" "${NICE[@]}" "$BIN/processor"
	SOURCE_URL=ws://127.0.0.1:$port/xrpc/com.atproto.sync.subscribeRepos \
	    SOURCE_CURSOR=0 t_start "$name-consumer" "${NICE[@]}" \
	    "$BIN/consumer"
	cpid=$(t_pid "$name-consumer")
	ppid=$(t_pid "$name-processor")
	apid=$(t_pid "$name-api")
	# Idle: connected to everything, the source holds its first op 3 s.
	sleep 2
	idle_c=$(group_rss "$cpid")
	idle_p=$(group_rss "$ppid")
	t0=$(date +%s.%N)
	c0=$(group_ticks "$cpid"); p0=$(group_ticks "$ppid")
	a0=$(group_ticks "$apid"); g0=$(pg_ticks); m0=$(mq_ticks)

	# Sample RSS while the source sends, until it reports completion.
	end=$(($(date +%s) + DRAIN_S + ops / rate + 10))
	until grep -q '"sent"' "$T_DIR/$name-src.log" 2>/dev/null; do
		sample=$(group_rss "$cpid"); [ "$sample" -gt "$rc" ] && rc=$sample
		sample=$(group_rss "$ppid"); [ "$sample" -gt "$rp" ] && rp=$sample
		sample=$(group_rss "$apid"); [ "$sample" -gt "$ra" ] && ra=$sample
		sample=$(queue_depth); [ "${sample:-0}" -gt "$qmax" ] && qmax=$sample
		[ "$(date +%s)" -lt "$end" ] || break
		sleep 0.5
	done
	q "CREATE TABLE bench_log (uri text, rev text COLLATE \"C\",
	    sent_us bigint)" || return 1
	q "\\copy bench_log FROM '$log'" || return 1
	uris=$(q "SELECT count(DISTINCT uri) FROM bench_log")
	# Drain: poll until every at-uri shows its last rev, or the deadline.
	while :; do
		sample=$(group_rss "$cpid"); [ "$sample" -gt "$rc" ] && rc=$sample
		sample=$(group_rss "$ppid"); [ "$sample" -gt "$rp" ] && rp=$sample
		sample=$(group_rss "$apid"); [ "$sample" -gt "$ra" ] && ra=$sample
		sample=$(queue_depth); [ "${sample:-0}" -gt "$qmax" ] && qmax=$sample
		matched=$(q "SELECT count(*) FROM ($MATCH_SQL) m")
		[ "$matched" -ge "$uris" ] && break
		[ "$(date +%s)" -lt "$end" ] || break
		sleep 1
	done
	t1=$(date +%s.%N)
	c1=$(group_ticks "$cpid"); p1=$(group_ticks "$ppid")
	a1=$(group_ticks "$apid"); g1=$(pg_ticks); m1=$(mq_ticks)
	src=$(grep '"sent"' "$T_DIR/$name-src.log" | tail -n1)
	[ -n "$src" ] || src='{}'
	dlq=$(curl -s -m 5 -u guest:guest "$T_MGMT_URL/api/queues/${RABBITMQ_URL##*/}/community.lexicon.calendar.dlq" |
	    jq -r '.messages // 0')
	stats=$(q "WITH m AS ($MATCH_SQL),
	    lat AS (SELECT (done_us - sent_us) / 1000.0 AS ms FROM m)
	  SELECT json_build_object(
	    'ops', (SELECT count(*) FROM bench_log),
	    'uris', $uris, 'uris_committed', (SELECT count(*) FROM m),
	    'first_send_us', (SELECT min(sent_us) FROM bench_log),
	    'last_commit_us', (SELECT max(done_us) FROM m),
	    'p50_ms', (SELECT round(percentile_cont(0.5) WITHIN GROUP
	        (ORDER BY ms)::numeric, 1) FROM lat),
	    'p95_ms', (SELECT round(percentile_cont(0.95) WITHIN GROUP
	        (ORDER BY ms)::numeric, 1) FROM lat),
	    'p99_ms', (SELECT round(percentile_cont(0.99) WITHIN GROUP
	        (ORDER BY ms)::numeric, 1) FROM lat),
	    'max_ms', (SELECT round(max(ms)::numeric, 1) FROM lat))")
	jq -c -n --arg name "$name" --argjson rate "$rate" \
	    --argjson src "$src" --argjson db "$stats" --argjson dlq "${dlq:-0}" \
	    --argjson wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" --argjson tck "$CLK_TCK" \
	    --argjson c "$((c1 - c0))" --argjson p "$((p1 - p0))" \
	    --argjson a "$((a1 - a0))" --argjson g "$((g1 - g0))" \
	    --argjson m "$((m1 - m0))" \
	    --argjson qmax "$qmax" --argjson rc "$rc" --argjson rp "$rp" --argjson ra "$ra" \
	    --argjson ic "$idle_c" --argjson ip "$idle_p" \
	    --argjson hc "$(hwm "$cpid")" --argjson hp "$(hwm "$ppid")" \
	    --argjson ha "$(hwm "$apid")" '
	    ((($db.last_commit_us // 0) - ($db.first_send_us // 0)) / 1e6) as $span |
	    {case: $name, offered_ops_per_s: $rate, source: $src,
	     zero_loss: ($db.uris_committed == $db.uris and $dlq == 0),
	     dlq: $dlq, main_queue_max_depth: $qmax, db: $db,
	     committed_ops_per_s: (if $span > 0 then
	        ($db.ops / $span | floor) else null end),
	     wall_s: $wall,
	     cpu_percent: {consumer: ($c / $tck / $wall * 100 | floor),
	        processor: ($p / $tck / $wall * 100 | floor),
	        api: ($a / $tck / $wall * 100 | floor),
	        postgres_shared: ($g / $tck / $wall * 100 | floor),
	        rabbitmq_shared: ($m / $tck / $wall * 100 | floor)},
	     cpu_seconds: {consumer: ($c / $tck), processor: ($p / $tck),
	        api: ($a / $tck), postgres_shared: ($g / $tck),
	        rabbitmq_shared: ($m / $tck)},
	     rss_kb: {consumer_idle: $ic, processor_idle: $ip,
	        consumer_peak_sampled: $rc, processor_peak_sampled: $rp,
	        api_peak_sampled_all_workers: $ra,
	        consumer_vmhwm: $hc, processor_vmhwm: $hp,
	        api_main_vmhwm: $ha}}' >>"$RESULTS"
	tail -n1 "$RESULTS" | jq -c '{case, offered_ops_per_s,
	    committed_ops_per_s, zero_loss, main_queue_max_depth, p50: .db.p50_ms, p95: .db.p95_ms,
	    p99: .db.p99_ms, cpu_percent, rss_kb}'
	CASE_COMMITTED_RATE=$(tail -n1 "$RESULTS" | jq -r \
	    '.committed_ops_per_s // 0')
	t_check "$name: every op committed (zero loss)" \
	    test "$(tail -n1 "$RESULTS" | jq -r .zero_loss)" = true
	t_stop "$name-consumer"
	t_stop "$name-processor"
	t_stop "$name-api"
	t_stop "$name-src"
	return 0
}

want_case() {
	case " $CASES " in *" $1 "*) return 0 ;; esac
	return 1
}
! want_case latency || run_case latency "$LAT_RATE" $((LAT_RATE * LAT_S))
CASE_COMMITTED_RATE=${BENCH_SUS_FROM:-0}
! want_case saturation || run_case saturation "$SAT_RATE" "$SAT_OPS"
SUS_RATE=$((CASE_COMMITTED_RATE * 8 / 10))
if want_case sustained && [ "$SUS_RATE" -ge 100 ]; then
	run_case sustained "$SUS_RATE" $((SUS_RATE * SUS_S))
fi

jq -s '{cases: ., settings: {dids: '"$DIDS"',
    processor_concurrency: (env.PROCESSOR_CONCURRENCY // "4"),
    processor_prefetch: (env.PROCESSOR_PREFETCH // "400"),
    processor_batch_size: (env.PROCESSOR_BATCH_SIZE // "200"),
    processor_batch_linger_ms: (env.PROCESSOR_BATCH_LINGER_MS // "5"),
    api_workers: (env.API_WORKERS // "2")}}' "$RESULTS" >"$OUT/e2e.json"
echo "bench_e2e: wrote $OUT/e2e.json"
t_done
