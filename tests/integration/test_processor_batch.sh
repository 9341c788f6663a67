#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# The processor's batch calls against the real api and a real RabbitMQ
# vhost. Messages queued before the processor starts go out as one
# POST /api/integration/batch; each item gets the fate a single call would
# give it: a valid event is applied, an item the API rejects (422) is
# parked with its field errors as the reason, an RSVP before its event
# (424) is retried and lands once the event exists. With the API's fault
# switch answering 500 to every write, a whole batch is refused: every
# message of it goes round the retry ladder (each counted) and all arrive
# once the fault is off, with nothing parked. SIGTERM exits 0.

source tests/lib/common.sh
t_init processor_batch

PROC=${PROC:-build/bin/processor}
APIBIN=${APIBIN:-build/bin/api}

[ -x "$APIBIN" ] && [ -x "$PROC" ] ||
	t_skip "$APIBIN or $PROC missing (make all)"

DB=$(t_new_db) || t_skip "no Postgres (make services-up)"
MQ=$(t_new_vhost) || t_skip "no RabbitMQ (make services-up)"
VHOST=${MQ##*/}
PORT=$(t_free_port)
KEY="k-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
API="http://127.0.0.1:$PORT"
FAULTS=$T_DIR/faults
: >"$FAULTS"

export DATABASE_URL=$DB API_LISTEN=127.0.0.1:$PORT SERVICE_API_KEYS=$KEY
export API_URL=$API API_KEY=$KEY TENANT_ID=default RABBITMQ_URL=$MQ
export LOG_LEVEL=info METRICS_LISTEN=off
# Everything queued reaches the processor well within the linger, so the
# first batch holds every mapped message.
export PROCESSOR_BATCH_SIZE=200 PROCESSOR_BATCH_LINGER_MS=500ms

DID=did:plc:2a7ygipkrbh544aqhcav53oy
EVC=community.lexicon.calendar.event
RSC=community.lexicon.calendar.rsvp

# publish ROUTING_KEY MESSAGE_ID BODY: a persistent message on the exchange.
publish() {
	jq -nc --arg rk "$1" --arg id "$2" --arg b "$3" \
	    '{properties: {delivery_mode: 2, content_type: "application/json",
	      message_id: $id}, routing_key: $rk, payload: $b,
	      payload_encoding: "string"}' |
	curl -s -m 10 -u guest:guest -H 'content-type: application/json' \
	    -d @- "$T_MGMT_URL/api/exchanges/$VHOST/community.lexicon.calendar/publish" |
	    jq -e '.routed == true' >/dev/null
}

# send KIND COLLECTION RKEY REV OPERATION [RECORD_JSON]
send() {
	local kind=$1 body
	shift
	body=$(jq -nc --arg did "$DID" --arg c "$1" --arg k "$2" --arg r "$3" \
	    --arg op "$4" --argjson rec "${5:-null}" \
	    '{did: $did, time_us: 1783175888085434, kind: "commit",
	      commit: ({rev: $r, operation: $op, collection: $c, rkey: $k} +
	      (if $rec == null then {} else {cid: "bafyreib2rxk3rh6kzwq",
	      record: $rec} end)), seq: 1, source: "test"}')
	publish "$kind.$4" "at://$DID/$1/$2#$3" "$body"
}

by_source() {
	curl -s -m 5 -H "Authorization: Bearer $KEY" -H 'x-tenant-id: default' \
	    --get --data-urlencode "sourceId=$1" \
	    --data-urlencode sourceType=bluesky "$API/api/events/by-source"
}

is_status() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' -m 5 \
	    -H "Authorization: Bearer $KEY" -H 'x-tenant-id: default' \
	    --get --data-urlencode "sourceId=$1" \
	    --data-urlencode sourceType=bluesky \
	    "$API/api/events/by-source")" = "$2" ]
}

has_attendee() {
	by_source "$1" | jq -e --arg d "$DID" --arg s "$2" \
	    '[.attendees[]? | select(.did == $d and .status == $s)] |
	     length == 1' >/dev/null
}

log_count() {
	grep -cE -- "$1" "$T_DIR/processor.log"
}

log_has() {
	[ "$(log_count "$1")" -ge "${2:-1}" ]
}

# Messages in the DLQ, exact (a passive declare, not management stats).
dlq_count() {
	"$PROC" dlq list | tail -n 1 | awk '{print $1}'
}

# The api's answer to one write while the fault switch is on or off.
write_status() {
	curl -s -o /dev/null -m 10 -w '%{http_code}' -X DELETE \
	    -H "Authorization: Bearer $KEY" -H 'x-tenant-id: default' \
	    "$API/api/integration/events?sourceId=bad"
}

ATCAL_TEST_FAULTS_FILE=$FAULTS t_start api "$APIBIN"
t_wait_http "$API/health/liveness" 30
# A first run declares the topology, so messages published while the
# processor is down are queued.
t_start processor "$PROC"
t_check "processor connects with batching on" \
    t_wait_for 20 log_has "event=mq_connected .*batch_size=200"
t_stop processor TERM

# 1. One batch: valid event, its RSVP, an item the API rejects, an RSVP
# before its event, a delete of an absent event; plus a record the
# processor itself cannot map (parked before any call).
E1="at://$DID/$EVC/3mqabyplj5d2a"
E2="at://$DID/$EVC/3mqabyplj5d4a"
X="at://$DID/$EVC/3mqabyplj5d5a"
send event "$EVC" 3mqabyplj5d2a 3mqabypluud2a create '{
    "name": "Batch meetup", "createdAt": "2026-07-01T10:00:00.000Z",
    "startsAt": "2026-08-01T18:00:00.000Z"}'
send rsvp "$RSC" 3mqabyplj5d3a 3mqabypluud3a create \
    "{\"subject\": {\"uri\": \"$E1\", \"cid\": \"bafyreib2rxk3rh6kzwq\"}}"
send event "$EVC" 3mqabyplj5d5a 3mqabypluud5a create '{
    "name": "Bad date", "createdAt": "2026-07-01T10:00:00.000Z",
    "startsAt": "next tuesday"}'
send rsvp "$RSC" 3mqabyplj5d4b 3mqabypluud4b create \
    "{\"subject\": \"$E2\", \"status\": \"$RSC#interested\"}"
send event "$EVC" 3mqabyplj5d6a 3mqabypluud6a delete
send event "$EVC" 3mqabyplj5d7a 3mqabypluud7a create \
    '{"createdAt": "2026-07-01T10:00:00.000Z"}'

t_start processor "$PROC"
t_check "the unmappable record is parked before any call" \
    t_wait_for 20 log_has "event=record_parked uri=at://$DID/$EVC/3mqabyplj5d7a .*status=0 .*cause=\"invalid record: missing name\""
t_check "the five mapped messages went out as one batch call" \
    t_wait_for 20 grep -q "level=info svc=api .*/api/integration/batch.*items=5" \
    "$T_DIR/api.log"
t_check "the valid event of the batch is applied" \
    t_wait_for 20 is_status "$E1" 200
t_eq "its name" "Batch meetup" "$(by_source "$E1" | jq -r .name)"
t_check "the rejected item is parked with status 422" \
    t_wait_for 20 log_has "event=record_parked uri=$X rev=3mqabypluud5a .*status=422"
t_check "...its reason names the field the API refused" \
    log_has "event=record_parked uri=$X .*cause=\"api rejected: http 422: .*startDate"
t_check "...and the DLQ lists it with that reason" \
    bash -c "'$PROC' dlq list | grep -F 3mqabyplj5d5a | grep -q 'startDate'"
t_check "the RSVP before its event is retried as a 424" \
    t_wait_for 20 log_has "event=record_retry uri=at://$DID/$RSC/3mqabyplj5d4b .*status=424"
t_eq "the rejected event was not stored" "404" \
    "$(curl -s -o /dev/null -w '%{http_code}' -m 5 \
    -H "Authorization: Bearer $KEY" -H 'x-tenant-id: default' \
    --get --data-urlencode "sourceId=$X" --data-urlencode sourceType=bluesky \
    "$API/api/events/by-source")"
t_check "the RSVP to the batch's own event lands (at once or retried)" \
    t_wait_for 40 has_attendee "$E1" going
send event "$EVC" 3mqabyplj5d4a 3mqabypluud4a create \
    '{"name": "Late event", "createdAt": "2026-07-01T10:00:00.000Z"}'
t_check "the late event arrives" t_wait_for 20 is_status "$E2" 200
t_check "the early RSVP lands after its retry" \
    t_wait_for 40 has_attendee "$E2" interested
t_eq "exactly two messages parked" 2 "$(dlq_count)"
t_check "dlq purge" bash -c "'$PROC' dlq purge | grep -q purged"

# 2. A whole batch refused (every write answers 500): each of its messages
# is retried, counted, and nothing is lost once the API recovers.
t_stop processor TERM
echo "error500=100" >"$FAULTS"
t_check "fault switch on" t_wait_for 10 \
    bash -c "[ \"\$(curl -s -o /dev/null -m 10 -w '%{http_code}' -X DELETE -H 'Authorization: Bearer $KEY' -H 'x-tenant-id: default' '$API/api/integration/events?sourceId=bad')\" = 500 ]"
# 30 valid TIDs: 3mqbbyplj5d + two base32-sortable letters.
SUFFIXES=$(for a in a b; do for b in a b c d e f g h i j k l m n o; do
	echo "$a$b"; done; done)
N=$(echo $SUFFIXES | wc -w)
for i in $SUFFIXES; do
	send event "$EVC" "3mqbbyplj5d$i" "3mqbbypluud$i" create \
	    "{\"name\": \"Fault $i\", \"createdAt\": \"2026-07-01T10:00:00.000Z\"}"
done
before=$(log_count "event=record_retry .*status=500")
t_start processor "$PROC"
t_check "the batch is refused as a whole (500)" \
    t_wait_for 20 log_has "event=batch_failed .*status=500"
t_check "every message of it goes round the retry ladder" \
    t_wait_for 20 log_has "event=record_retry .*status=500" $((before + N))
t_eq "nothing parked while failing" 0 "$(dlq_count)"
: >"$FAULTS"
t_check "fault switch off" t_wait_for 10 \
    bash -c "[ \"\$(curl -s -o /dev/null -m 10 -w '%{http_code}' -X DELETE -H 'Authorization: Bearer $KEY' -H 'x-tenant-id: default' '$API/api/integration/events?sourceId=bad')\" = 422 ]"
all_there() {
	local i
	for i in $SUFFIXES; do
		is_status "at://$DID/$EVC/3mqbbyplj5d$i" 200 || return 1
	done
}
# Usually within seconds; a retry that met a worker not yet switched off
# climbs to the 10 s and 1 min rungs.
t_check "all $N messages arrive once the API recovers (none lost)" \
    t_wait_for 100 all_there
t_eq "none parked" 0 "$(dlq_count)"
t_check "main queue drained" t_wait_for 20 \
    bash -c "[ \"\$(curl -s -m 5 -u guest:guest '$T_MGMT_URL/api/queues/$VHOST/community.lexicon.calendar.queue' | jq -r .messages)\" = 0 ]"

# 3. SIGTERM drains and exits 0.
pid=$(t_pid processor)
kill -TERM "$pid"
wait "$pid"
t_eq "SIGTERM: exit status 0" 0 "$?"
t_check "clean shutdown logged" log_has "event=shutdown cause=stopped"

t_done
