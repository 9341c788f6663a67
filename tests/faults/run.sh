#!/bin/bash
# SPDX-License-Identifier: ISC
#
# The fault suite (issue 5): the whole pipeline (two consumer replicas,
# processor, api) ingests from the reference PDS while writer.mjs writes a
# stream of calendar operations, and the suite hurts it: kill -9 of the
# active consumer (the standby's takeover is timed), the processor and the
# api at random moments; one RabbitMQ and one Postgres restart; a period of
# 20% API 500s and one 5 s API stall (api/faults.c switch file); a SIGTERM
# of each service (exit 0 asserted). At the end compare.mjs checks the
# API's state against every PDS repository, the database is checked for
# missing, extra and duplicated rows, and every queue must be empty,
# dead-letter queue included. Restarting brokers and databases would break
# other tests, so the suite runs its own private RabbitMQ and Postgres
# (scripts/services.sh with SERVICES_* overrides) in its temp dir.
#
# Env (defaults = the full run, `make test-faults`):
#   FAULTS_OPS (3000) FAULTS_ACCOUNTS (30) FAULTS_RATE (writer ops/s, 20)
#   FAULTS_KILLS (kill -9 per service, 10) FAULTS_GAP_MS (max pause between
#   kills, 4000) FAULTS_ERROR_S (error500 period, 15) FAULTS_WAIT_S (drain
#   deadline, 900) FAULTS_NAME (faults) FAULTS_SEED (random)

source tests/lib/common.sh
source tests/lib/interop.sh
t_init "${FAULTS_NAME:-faults}"

OPS=${FAULTS_OPS:-3000}
ACCOUNTS=${FAULTS_ACCOUNTS:-30}
RATE=${FAULTS_RATE:-20}
KILLS=${FAULTS_KILLS:-10}
GAP_MS=${FAULTS_GAP_MS:-4000}
ERROR_S=${FAULTS_ERROR_S:-15}
WAIT_S=${FAULTS_WAIT_S:-900}
SEED=${FAULTS_SEED:-$((RANDOM % 1000 + 1))}
TAKEOVER_MAX_MS=15000

ti_require api processor consumer
echo "$T_NAME: ops=$OPS accounts=$ACCOUNTS rate=$RATE/s kills=$KILLS" \
    "each gap<=${GAP_MS}ms error500=${ERROR_S}s seed=$SEED"

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# Random integer in [lo, hi].
rand() {
	echo $(($1 + $(od -An -N4 -tu4 /dev/urandom) % ($2 - $1 + 1)))
}

# --- private RabbitMQ and Postgres ---------------------------------------
# Postgres runs as user postgres when we are root: it must reach the dir.
chmod 755 "$T_DIR"
export SERVICES_STATE=$T_DIR/svc
export SERVICES_PG_PORT SERVICES_RMQ_PORT SERVICES_RMQ_MGMT_PORT \
    SERVICES_RMQ_PROM_PORT SERVICES_RMQ_DIST_PORT SERVICES_RMQ_EPMD_PORT
SERVICES_PG_PORT=$(t_free_port)
SERVICES_RMQ_PORT=$(t_free_port)
SERVICES_RMQ_MGMT_PORT=$(t_free_port)
SERVICES_RMQ_PROM_PORT=$(t_free_port)
SERVICES_RMQ_DIST_PORT=$(t_free_port)
SERVICES_RMQ_EPMD_PORT=$(t_free_port)
T_PG_PORT=$SERVICES_PG_PORT
T_AMQP_PORT=$SERVICES_RMQ_PORT
T_MGMT_URL=http://127.0.0.1:$SERVICES_RMQ_MGMT_PORT

services() {
	echo "=== $(date -u +%FT%TZ) services.sh $1" >>"$T_DIR/services.log"
	scripts/services.sh "$1" >>"$T_DIR/services.log" 2>&1
}

# Processes first (fast, KILL), then the private servers, then the
# harness's own cleanup (temp dir, exit status).
faults_cleanup() {
	local rc=$? name
	for name in "${!T_PIDS[@]}"; do
		t_stop "$name" KILL >/dev/null 2>&1
	done
	services down
	(exit "$rc")
	_t_cleanup
}
trap faults_cleanup EXIT

t_check "private Postgres and RabbitMQ start" services up || t_done

export DATABASE_URL=postgresql://atcal@127.0.0.1:$SERVICES_PG_PORT/atcal
# "/%2F" names the default vhost "/"; a bare trailing "/" would mean "".
export RABBITMQ_URL=amqp://guest:guest@127.0.0.1:$SERVICES_RMQ_PORT/%2F
API_PORT=$(t_free_port)
KEY=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export API_LISTEN=127.0.0.1:$API_PORT API_URL=http://127.0.0.1:$API_PORT
export SERVICE_API_KEYS=$KEY API_KEY=$KEY TENANT_ID=faults
export LOG_LEVEL=${LOG_LEVEL:-info}
FAULTS_FILE=$T_DIR/api-faults
: >"$FAULTS_FILE"
export ATCAL_TEST_FAULTS_FILE=$FAULTS_FILE

t_check "migrations apply" "$T_BIN/api" migrate || t_done

PDS_INFO_FILE=$T_DIR/pds.json PDS_DATA_DIR=$T_DIR/pds LOG_ENABLED=false \
    t_start pds "$NODE" "$IDIR/pds.mjs"
if ! t_wait_for 90 test -s "$T_DIR/pds.json"; then
	t_check "reference PDS starts" false
	t_done
fi
PDS_PORT=$(jq -r .pdsPort "$T_DIR/pds.json")
export SOURCE_URL=ws://127.0.0.1:$PDS_PORT/xrpc/com.atproto.sync.subscribeRepos
export SOURCE_CURSOR=0
PLC_URL=$(jq -r .plcUrl "$T_DIR/pds.json")
export PLC_URL

# --- the services, each restartable under its name -----------------------
declare -A METRICS=(
	[consumer_a]=127.0.0.1:$(t_free_port)
	[consumer_b]=127.0.0.1:$(t_free_port)
	[processor]=127.0.0.1:$(t_free_port)
)

start_svc() {
	case "$1" in
	api)	t_start api "$T_BIN/api" ;;
	processor)
		METRICS_LISTEN=${METRICS[processor]} \
		    t_start processor "$T_BIN/processor" ;;
	consumer_a|consumer_b)
		METRICS_LISTEN=${METRICS[$1]} t_start "$1" "$T_BIN/consumer" ;;
	esac
}

SERVICES=(api processor consumer_a consumer_b)
for s in "${SERVICES[@]}"; do
	start_svc "$s"
done
t_wait_http "$API_URL/health/liveness" 30

# The consumer replica holding the source lock (its leader gauge is 1).
is_leader() {
	curl -s -m 2 "http://${METRICS[$1]}/metrics" |
	    grep -Eq '^atcal_consumer_leader(\{[^}]*\})? 1$'
}
active_consumer() {
	local c
	for c in consumer_a consumer_b; do
		if is_leader "$c"; then
			echo "$c"
			return 0
		fi
	done
	return 1
}
t_check "one consumer replica becomes active" t_wait_for 30 active_consumer

# A service that died without being killed by us is restarted (as k8s
# would) and counted: the suite fails on any.
UNEXPECTED=0
ensure_running() {
	local s pid rc
	for s in "${SERVICES[@]}"; do
		pid=$(t_pid "$s")
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			continue
		fi
		rc=-
		if [ -n "$pid" ]; then
			wait "$pid" 2>/dev/null
			rc=$?
			t_stop "$s" KILL >/dev/null
		fi
		UNEXPECTED=$((UNEXPECTED + 1))
		echo "$T_NAME: $s exited by itself (status $rc); restarting"
		tail -n 5 "$T_DIR/$s.log" | sed 's/^/     | /'
		start_svc "$s"
	done
}

declare -A KILLED=([consumer]=0 [processor]=0 [api]=0)
TAKEOVERS=()

# kill -9 of the active consumer; the standby must take over.
kill_consumer() {
	local act other t0 dt
	act=$(active_consumer) || return 1
	[ "$act" = consumer_a ] && other=consumer_b || other=consumer_a
	t0=$(now_ms)
	t_stop "$act" KILL >/dev/null
	KILLED[consumer]=$((KILLED[consumer] + 1))
	if t_wait_for 30 is_leader "$other"; then
		dt=$(($(now_ms) - t0))
	else
		dt=timeout
	fi
	TAKEOVERS+=("$dt")
	echo "$T_NAME: kill -9 $act; $other took over in ${dt} ms"
	start_svc "$act" >/dev/null
}

kill_service() {
	t_stop "$1" KILL >/dev/null
	KILLED[$1]=$((KILLED[$1] + 1))
	echo "$T_NAME: kill -9 $1 (#${KILLED[$1]})"
	# Down for a random moment, as a crash-looping pod would be.
	sleep "0.$(rand 0 9)"
	start_svc "$1" >/dev/null
}

# SIGTERM must drain and exit 0.
TERM_RESULTS=()
term_service() {
	local name=$1 pid rc
	pid=$(t_pid "$name")
	kill -TERM "$pid"
	if t_wait_for 40 bash -c "! kill -0 $pid"; then
		wait "$pid"
		rc=$?
	else
		rc="still running after 40 s"
	fi
	t_stop "$name" KILL >/dev/null
	TERM_RESULTS+=("$name=$rc")
	t_eq "SIGTERM: $name exits 0" 0 "$rc"
}

# --- the writer ---------------------------------------------------------
t_start writer "$NODE" tests/faults/writer.mjs --info "$T_DIR/pds.json" \
    --out "$T_DIR/written.json" --ops "$OPS" --accounts "$ACCOUNTS" \
    --concurrency 6 --seed "$SEED" --rate "$RATE"
WRITER=$(t_pid writer)

writer_running() {
	kill -0 "$WRITER" 2>/dev/null
}

# Percent of the writer's operations done (100 once it has exited).
progress() {
	local n
	if ! writer_running; then
		echo 100
		return
	fi
	n=$(sed -n 's/^writer: progress ops=\([0-9]*\) .*/\1/p' \
	    "$T_DIR/writer.log" | tail -n 1)
	echo $((${n:-0} * 100 / OPS))
}

# --- the chaos ------------------------------------------------------------
ERR_START=
ERR_DONE=
STALL_DONE=
RMQ_DONE=
PG_DONE=
TERM_DONE=
STALLS=0

stall_once() {
	echo "stall=5000" >"$FAULTS_FILE"
	# The first write a worker handles after re-reading the file stalls
	# 5 s; the switch is turned off as soon as one has.
	if t_wait_for 30 grep -q 'event=test_faults_changed .*stall_ms=5000' \
	    "$T_DIR/api.log"; then
		STALLS=1
	fi
	: >"$FAULTS_FILE"
	echo "$T_NAME: api stalled 5 s (observed: $STALLS)"
}

# Messages waiting in the retry ladder (management API; a few s stale).
retry_depth() {
	curl -s -m 5 -u guest:guest "$T_MGMT_URL/api/queues/%2F" |
	    jq '[.[] | select(.name | contains(".retry.")) | .messages // 0] |
	    add // 0'
}

quota_left() {
	[ "${KILLED[consumer]}" -lt "$KILLS" ] ||
	    [ "${KILLED[processor]}" -lt "$KILLS" ] ||
	    [ "${KILLED[api]}" -lt "$KILLS" ]
}

CHAOS_START=$(now_ms)
while :; do
	ensure_running
	p=$(progress)
	if [ -z "$STALL_DONE" ] && [ "$p" -ge 5 ]; then
		stall_once
		STALL_DONE=1
	elif [ -z "$ERR_START" ] && [ "$p" -ge 10 ]; then
		echo "error500=20" >"$FAULTS_FILE"
		ERR_START=$(now_ms)
		echo "$T_NAME: api answers 500 to 20% of writes for ${ERROR_S}s" \
		    "(at ${p}%)"
	elif [ -n "$ERR_START" ] && [ -z "$ERR_DONE" ] &&
	    [ $(($(now_ms) - ERR_START)) -ge $((ERROR_S * 1000)) ]; then
		# The broker goes down while the 500s are still sending
		# messages to the retry rungs: those must survive the restart
		# (the 1 s rung's expire while it is down) like any other.
		echo "$T_NAME: restarting RabbitMQ (at ${p}%, about" \
		    "$(retry_depth) messages in retry queues)"
		t0=$(now_ms)
		t_check "RabbitMQ restarts mid-stream" services restart-rabbitmq
		echo "$T_NAME: RabbitMQ back after $(($(now_ms) - t0)) ms"
		RMQ_DONE=1
		: >"$FAULTS_FILE"
		ERR_DONE=1
		echo "$T_NAME: error500 period over"
	elif [ -n "$RMQ_DONE" ] && [ -z "$PG_DONE" ] && [ "$p" -ge 60 ]; then
		echo "$T_NAME: restarting Postgres (at ${p}%)"
		t_check "Postgres restarts mid-stream" services restart-postgres
		PG_DONE=1
	elif [ -n "$PG_DONE" ] && [ -z "$TERM_DONE" ] && [ "$p" -ge 75 ]; then
		echo "$T_NAME: SIGTERM of each service mid-stream (at ${p}%)"
		act=$(active_consumer) || act=consumer_a
		term_service "$act"
		start_svc "$act"
		term_service processor
		start_svc processor
		term_service api
		start_svc api
		TERM_DONE=1
	fi
	if [ -n "$TERM_DONE" ] && ! writer_running && ! quota_left; then
		break
	fi
	# One kill -9, of a service with kills left, after a random pause.
	targets=()
	for s in consumer processor api; do
		[ "${KILLED[$s]}" -lt "$KILLS" ] && targets+=("$s")
	done
	if [ "${#targets[@]}" -gt 0 ]; then
		sleep "$(awk -v ms="$(rand 500 "$GAP_MS")" \
		    'BEGIN { printf "%.3f", ms / 1000 }')"
		ensure_running
		s=${targets[$(rand 0 $((${#targets[@]} - 1)))]}
		case "$s" in
		consumer) kill_consumer || echo "$T_NAME: no active consumer" ;;
		*) kill_service "$s" ;;
		esac
	else
		sleep 0.5
	fi
done
echo "$T_NAME: chaos over after $((($(now_ms) - CHAOS_START) / 1000)) s:" \
    "kill -9 consumer=${KILLED[consumer]} processor=${KILLED[processor]}" \
    "api=${KILLED[api]}"
wait "$WRITER"
t_eq "writer wrote every operation (exit status)" 0 "$?"
grep '^writer: done' "$T_DIR/writer.log"
ensure_running

# --- the verdict --------------------------------------------------------
# The API must converge to the PDS's repositories. Retries of messages
# that failed several times sit out the ladder's longer rungs, hence the
# generous deadline.
t0=$(now_ms)
"$NODE" tests/faults/compare.mjs --info "$T_DIR/pds.json" \
    --written "$T_DIR/written.json" --api "$API_URL" --key "$KEY" \
    --tenant "$TENANT_ID" --wait "$WAIT_S" --summary "$T_DIR/summary.json" \
    --truth-dir "$T_DIR" | tee "$T_DIR/compare.out"
echo "$T_NAME: converged (or gave up) $((($(now_ms) - t0) / 1000)) s" \
    "after the last write"
fig() {
	jq -r ".$1 // \"none\"" "$T_DIR/summary.json" 2>/dev/null || echo none
}
t_eq "missing records (API vs PDS)" 0 "$(fig missing)"
t_eq "stale records (older version shown)" 0 "$(fig stale)"
t_eq "extra records (in the API, not in the PDS)" 0 "$(fig extra)"
t_eq "duplicated records" 0 "$(fig duplicated)"
t_eq "API errors while comparing" 0 "$(fig errors)"
t_check "the comparison covered events and RSVPs" test \
    "$(fig pdsEvents)" -gt 0 -a "$(fig pdsRsvps)" -gt 0

# The database behind the API: every live row is a PDS record and back,
# and nobody attends one event twice.
db_check() {
	_t_psql -d atcal -tA -F ' ' -v t="$TENANT_ID" <<EOF
CREATE TEMP TABLE te (uri text);
CREATE TEMP TABLE tr (uri text, event_uri text);
\\copy te FROM '$T_DIR/truth_events.txt'
\\copy tr FROM '$T_DIR/truth_rsvps.txt'
CREATE TEMP VIEW le AS SELECT source_id FROM events
    WHERE tenant_id = :'t' AND source_type = 'bluesky' AND deleted_at IS NULL;
CREATE TEMP VIEW la AS SELECT source_id, event_id, user_id FROM attendees
    WHERE tenant_id = :'t' AND source_type = 'bluesky' AND deleted_at IS NULL;
SELECT
    'missing_events=' || (SELECT count(*) FROM te
	WHERE uri NOT IN (SELECT source_id FROM le)),
    'extra_events=' || (SELECT count(*) FROM le
	WHERE source_id NOT IN (SELECT uri FROM te)),
    'missing_rsvps=' || (SELECT count(*) FROM tr
	WHERE uri NOT IN (SELECT source_id FROM la)),
    'extra_rsvps=' || (SELECT count(*) FROM la
	WHERE source_id NOT IN (SELECT uri FROM tr)),
    'duplicated_attendance=' || (SELECT count(*) FROM (SELECT 1 FROM la
	GROUP BY event_id, user_id HAVING count(*) > 1) d);
EOF
}
queue_messages() {
	curl -s -m 5 -u guest:guest "$T_MGMT_URL/api/queues/%2F/$1" |
	    jq -r '.messages // "none"'
}
queues_empty() {
	local q
	for q in community.lexicon.calendar.queue \
	    community.lexicon.calendar.retry.{1s,10s,1m,10m,1h}; do
		[ "$(queue_messages "$q")" = 0 ] || return 1
	done
}
t_check "main and retry queues drain" t_wait_for "$WAIT_S" queues_empty
DB_OK="missing_events=0 extra_events=0 missing_rsvps=0 extra_rsvps=0"
DB_OK="$DB_OK duplicated_attendance=0"
db_matches() {
	[ "$(db_check 2>&1)" = "$DB_OK" ]
}
# RSVPs of deleted events are seen here only: they may still be on a
# retry rung when the API view has converged.
t_wait_for "$WAIT_S" db_matches
DB=$(db_check 2>&1)
echo "$T_NAME: database: $DB"
t_eq "database matches the PDS" "$DB_OK" "$DB"

DLQ=$(queue_messages community.lexicon.calendar.dlq)
"$T_BIN/processor" dlq list >"$T_DIR/dlq.txt" 2>&1
DLQ_CLI=$(grep -c ' uri=' "$T_DIR/dlq.txt")
echo "$T_NAME: dead letters: $DLQ (processor dlq list shows $DLQ_CLI)"
head -n 20 "$T_DIR/dlq.txt" | sed 's/^/     | /'
t_eq "nothing dead-lettered" 0 "$DLQ"
t_eq "processor dlq list agrees" 0 "$DLQ_CLI"

# Failover: every standby took over within 15 s.
max=0
for d in "${TAKEOVERS[@]}"; do
	if [ "$d" = timeout ]; then
		max=timeout
		break
	fi
	[ "$d" -gt "$max" ] && max=$d
done
echo "$T_NAME: standby takeovers (ms): ${TAKEOVERS[*]}"
t_check "standby took over within ${TAKEOVER_MAX_MS} ms every time" \
    test "$max" != timeout -a "$max" -le "$TAKEOVER_MAX_MS"
t_check "kill -9: $KILLS or more of each service" test \
    "${KILLED[consumer]}" -ge "$KILLS" -a "${KILLED[processor]}" -ge "$KILLS" \
    -a "${KILLED[api]}" -ge "$KILLS"
t_check "the api stalled once (switch observed)" test "$STALLS" -eq 1
N500=$(grep -c 'status=500' "$T_DIR/api.log")
echo "$T_NAME: api answered 500 $N500 times (fault switch)"
t_check "the api answered 500s during the error period" test "$N500" -gt 0
t_eq "no service exited unless killed" 0 "$UNEXPECTED"

# Final SIGTERM of everything: drains, exits 0.
for s in "${SERVICES[@]}"; do
	term_service "$s"
done

echo "$T_NAME: figures: ops=$OPS $(sed -n 's/^figures //p' \
    "$T_DIR/compare.out") db=[$DB] dlq=$DLQ" \
    "kills=consumer:${KILLED[consumer]},processor:${KILLED[processor]},api:${KILLED[api]}" \
    "takeover_ms=[${TAKEOVERS[*]}] max_takeover_ms=$max" \
    "sigterm=[${TERM_RESULTS[*]}] unexpected_exits=$UNEXPECTED"
t_done
