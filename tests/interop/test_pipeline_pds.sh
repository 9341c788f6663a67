# SPDX-License-Identifier: ISC
#
# End to end against the reference PDS: PLC + PDS (tests/interop/pds.mjs),
# api, processor and consumer (SOURCE_CURSOR=0, own database and vhost).
# Phase 1 writes accounts, events of every shape, RSVPs, updates and
# deletes; the consumer is killed with SIGKILL in the middle of it and
# restarted while writes go on; phase 2 writes more (including an RSVP
# that precedes its event in one commit and a delete + re-create under one
# rkey). Then the API's view of every record must equal what was written:
# live events field by field, deleted events 404, RSVPs among attendees,
# deleted RSVPs gone; nothing dead-lettered, the main queue drained.

source tests/lib/common.sh
source tests/lib/interop.sh
t_init pipeline_pds

ti_require api processor consumer

# Sized so the kill lands mid-stream and the run stays well under a minute.
ACCOUNTS=${PIPELINE_ACCOUNTS:-4}
EVENTS=${PIPELINE_EVENTS:-8}
BULK=${PIPELINE_BULK:-150}
KILL_AT=$((ACCOUNTS + ACCOUNTS * EVENTS / 2))
WAIT_S=${PIPELINE_WAIT_S:-180}

ti_pipeline interop


ti_start_pds
export SOURCE_URL=ws://127.0.0.1:$PDS_PORT/xrpc/com.atproto.sync.subscribeRepos
export SOURCE_CURSOR=0
# Commit signatures are checked against the test's own PLC directory.
export PLC_URL=$PDS_PLC_URL

t_start api "$T_BIN/api"
t_wait_http "$API_URL/health/liveness" 30
t_check "api is ready" t_wait_for 30 curl -sf "$API_URL/health/readiness"
METRICS_LISTEN=127.0.0.1:$(t_free_port) t_start processor "$T_BIN/processor"
CONSUMER_METRICS=127.0.0.1:$(t_free_port)
METRICS_LISTEN=$CONSUMER_METRICS t_start consumer "$T_BIN/consumer"

WRITE=("$NODE" "$IDIR/write.mjs" --info "$T_DIR/pds.json"
    --state "$T_DIR/state.json" --out "$T_DIR/expected.json"
    --accounts "$ACCOUNTS" --events "$EVENTS" --bulk "$BULK")

# ops written so far by the phase-1 writer (from its progress lines).
writer_ops() {
	sed -n 's/.*progress phase=1 ops=\([0-9]*\).*/\1/p' \
	    "$T_DIR/writer1.log" | tail -n 1
}

ops_at_least() {
	local n
	n=$(writer_ops)
	[ -n "$n" ] && [ "$n" -ge "$1" ]
}

writer_done() {
	! kill -0 "$(t_pid writer1)" 2>/dev/null
}

t_start writer1 "${WRITE[@]}" --phase 1 --pace 60
WRITER1=$(t_pid writer1)

# Kill the consumer in the middle of phase 1, let writes pile up while it
# is down, then restart it: it must resume from its stored cursor.
t_check "phase 1 reaches $KILL_AT ops" t_wait_for 120 ops_at_least "$KILL_AT"
t_check "consumer alive before the kill" kill -0 "$(t_pid consumer)"
t_stop consumer KILL
t_wait_for 60 ops_at_least $((KILL_AT + 10)) || true
METRICS_LISTEN=$CONSUMER_METRICS t_start consumer "$T_BIN/consumer"
t_check "phase 1 writer finishes" t_wait_for 120 writer_done
wait "$WRITER1"
t_eq "phase 1 writer exit status" 0 "$?"

t_check "phase 2 writes" "${WRITE[@]}" --phase 2

EXP=$T_DIR/expected.json
t_check "expected state has events, RSVPs and deletes" \
    jq -e '(.events | length) > 100 and (.rsvps | length) > 5 and
    (.deleted | length) >= 4' "$EXP"

t_check "API reflects every write within ${WAIT_S}s" \
    "$NODE" "$IDIR/expect.mjs" --expected "$EXP" --api "$API_URL" \
    --key "$KEY" --tenant "$TENANT_ID" --wait "$WAIT_S" \
    --summary "$T_DIR/summary.json"

summary() {
	jq -r "\"ok=\(.$1.ok) bad=\(.$1.bad)\"" "$T_DIR/summary.json" \
	    2>/dev/null
}
count() {
	jq -r ".$1 | length" "$EXP"
}
t_eq "live events equal what was written" \
    "ok=$(count events) bad=0" "$(summary events)"
t_eq "deleted events answer 404" \
    "ok=$(jq -r '[.deleted[] | select(test("calendar.event/"))] | length' \
    "$EXP") bad=0" "$(summary deletedEvents)"
t_eq "deleted RSVPs are not attendees" \
    "ok=$(jq -r '[.deleted[] | select(test("calendar.rsvp/"))] | length' \
    "$EXP") bad=0" "$(summary deletedRsvps)"
t_check "every RSVP of a live event is an attendee" \
    jq -e '.rsvps.bad == 0 and .rsvps.ok > 5' "$T_DIR/summary.json"

queue_messages() {
	curl -s -m 5 -u guest:guest \
	    "$T_MGMT_URL/api/queues/$VHOST/$1" | jq -r '.messages // "none"'
}
main_queue_empty() {
	[ "$(queue_messages community.lexicon.calendar.queue)" = 0 ]
}
t_check "main queue drained" t_wait_for 30 main_queue_empty
t_eq "nothing dead-lettered" 0 \
    "$(queue_messages community.lexicon.calendar.dlq)"
consumer_metric() {	# consumer_metric NAME REASON?: summed over hosts
	curl -s -m 5 "http://$CONSUMER_METRICS/metrics" | awk -v n="$1" \
	    -v r="$2" 'index($1, n "{") == 1 && (r == "" ||
	    index($1, "reason=\"" r "\"")) { s += $2 } END { print s + 0 }'
}
# Publish batches (INGESTER_BATCH_SIZE, INGESTER_BATCH_TIMEOUT_MS): the
# PDS sends a commit at a time, so batches close as the socket drains, and
# the cursor is stored per batch of confirms or per timeout.
t_check "publish batches closed when the source had nothing waiting" \
    test "$(consumer_metric atcal_consumer_publish_batches_total idle)" -gt 0
t_check "confirmed cursor stored by the restarted consumer" \
    test "$(consumer_metric atcal_consumer_cursor_saves_total)" -gt 0
t_check "consumer still running" kill -0 "$(t_pid consumer)"
t_check "processor still running" kill -0 "$(t_pid processor)"
t_check "api still running" kill -0 "$(t_pid api)"
t_check "consumer dropped no record" \
    bash -c "! grep 'event=record_dropped' '$T_DIR/consumer.log'"

t_done
