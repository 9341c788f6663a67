#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# The processor against the real api and a real RabbitMQ vhost: messages
# published to the exchange end up as API state (events, RSVPs, deletes);
# an RSVP before its event is retried until the event exists; an invalid
# record is parked in the DLQ with its reason (seen through `processor dlq`);
# with the API stopped, messages are retried, not lost, and arrive once it is
# back; SIGTERM ends the processor cleanly.

source tests/lib/common.sh
t_init processor_delivery

# Binaries under test (overridable, e.g. for a sanitizer build).
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

export DATABASE_URL=$DB API_LISTEN=127.0.0.1:$PORT SERVICE_API_KEYS=$KEY
export API_URL=$API API_KEY=$KEY TENANT_ID=default RABBITMQ_URL=$MQ
export LOG_LEVEL=info

DID=did:plc:2a7ygipkrbh544aqhcav53oy
EVC=community.lexicon.calendar.event
RSC=community.lexicon.calendar.rsvp

# publish ROUTING_KEY MESSAGE_ID BODY: a persistent message on the exchange,
# through the management API (amqp-publish cannot set a message id).
publish() {
	jq -nc --arg rk "$1" --arg id "$2" --arg b "$3" \
	    '{properties: {delivery_mode: 2, content_type: "application/json",
	      message_id: $id}, routing_key: $rk, payload: $b,
	      payload_encoding: "string"}' |
	curl -s -m 10 -u guest:guest -H 'content-type: application/json' \
	    -d @- "$T_MGMT_URL/api/exchanges/$VHOST/community.lexicon.calendar/publish" |
	    jq -e '.routed == true' >/dev/null
}

# envelope COLLECTION RKEY REV OPERATION [RECORD_JSON]
envelope() {
	if [ -n "${5:-}" ]; then
		jq -nc --arg did "$DID" --arg c "$1" --arg k "$2" --arg r "$3" \
		    --arg op "$4" --argjson rec "$5" \
		    '{did: $did, time_us: 1783175888085434, kind: "commit",
		      commit: {rev: $r, operation: $op, collection: $c,
		      rkey: $k, cid: "bafyreib2rxk3rh6kzwq", record: $rec},
		      seq: 1, source: "test"}'
	else
		jq -nc --arg did "$DID" --arg c "$1" --arg k "$2" --arg r "$3" \
		    --arg op "$4" \
		    '{did: $did, time_us: 1783175888085434, kind: "commit",
		      commit: {rev: $r, operation: $op, collection: $c,
		      rkey: $k}, seq: 1, source: "test"}'
	fi
}

# send KIND COLLECTION RKEY REV OPERATION [RECORD_JSON]
send() {
	local kind=$1
	shift
	publish "$kind.$4" "at://$DID/$1/$2#$3" "$(envelope "$@")"
}

by_source() {
	curl -s -m 5 -H "Authorization: Bearer $KEY" \
	    -H 'x-tenant-id: default' \
	    --get --data-urlencode "sourceId=$1" \
	    --data-urlencode sourceType=bluesky "$API/api/events/by-source"
}

by_source_status() {
	curl -s -o /dev/null -w '%{http_code}' -m 5 \
	    -H "Authorization: Bearer $KEY" -H 'x-tenant-id: default' \
	    --get --data-urlencode "sourceId=$1" \
	    --data-urlencode sourceType=bluesky "$API/api/events/by-source"
}

is_status() {
	[ "$(by_source_status "$1")" = "$2" ]
}

has_attendee() {
	by_source "$1" | jq -e --arg d "$DID" --arg s "$2" \
	    '[.attendees[]? | select(.did == $d and .status == $s)] |
	     length == 1' >/dev/null
}

dlq_has() {
	"$PROC" dlq list | grep -F "$1" | grep -qF "$2"
}

log_has() {
	grep -qF -- "$1" "$T_DIR/processor.log"
}

t_start api "$APIBIN"
t_wait_http "$API/health/liveness" 30
t_start processor "$PROC"
t_check "processor connects to RabbitMQ" \
    t_wait_for 20 log_has "event=mq_connected"

# 1. An event with a geo location at 0,0 and no description.
E1="at://$DID/$EVC/3mptbyplj5d2a"
send event "$EVC" 3mptbyplj5d2a 3mptbypluud2a create '{
    "$type": "community.lexicon.calendar.event", "name": "Null Island meetup",
    "createdAt": "2026-07-01T10:00:00.000Z",
    "startsAt": "2026-08-01T18:00:00.000Z",
    "mode": "community.lexicon.calendar.event#hybrid",
    "locations": [{"$type": "community.lexicon.location.geo",
      "latitude": "0", "longitude": "0"}]}'
t_check "event create reaches the API" t_wait_for 20 is_status "$E1" 200
J=$(by_source "$E1")
t_eq "event name" "Null Island meetup" "$(jq -r .name <<<"$J")"
t_eq "event type from mode" "hybrid" "$(jq -r .type <<<"$J")"
t_eq "description stays absent" "null" \
    "$(jq -c '.description // null' <<<"$J")"
t_eq "geo 0 kept" '"0"' "$(jq -c '.locations[0].latitude' <<<"$J")"
t_eq "source rev stored" "3mptbypluud2a" \
    "$(jq -r .source.metadata.rev <<<"$J")"

# 2. An RSVP without status: the lexicon default is going.
send rsvp "$RSC" 3mptbyplj5d3a 3mptbypluud3a create \
    "{\"subject\": {\"uri\": \"$E1\", \"cid\": \"bafyreib2rxk3rh6kzwq\"}}"
t_check "rsvp arrives as going" t_wait_for 20 has_attendee "$E1" going

# 3. An RSVP before its event: 424, retried, applied once the event exists.
E2="at://$DID/$EVC/3mptbyplj5d4a"
send rsvp "$RSC" 3mptbyplj5d4b 3mptbypluud4b create \
    "{\"subject\": \"$E2\", \"status\": \"$RSC#interested\"}"
t_check "rsvp before its event is retried" \
    t_wait_for 20 log_has "uri=at://$DID/$RSC/3mptbyplj5d4b"
t_check "the retry was a 424" \
    grep -q "event=record_retry uri=at://$DID/$RSC/3mptbyplj5d4b.*status=424" \
    "$T_DIR/processor.log"
send event "$EVC" 3mptbyplj5d4a 3mptbypluud4a create \
    '{"name": "Late event", "createdAt": "2026-07-01T10:00:00.000Z"}'
t_check "event 2 arrives" t_wait_for 20 is_status "$E2" 200
t_check "the early rsvp lands after its retry" \
    t_wait_for 40 has_attendee "$E2" interested

# 4. An invalid record is parked with its reason, visible in `dlq list`.
send event "$EVC" 3mptbyplj5d5a 3mptbypluud5a create \
    '{"createdAt": "2026-07-01T10:00:00.000Z"}'
t_check "invalid record parked in the DLQ with its reason" \
    t_wait_for 20 dlq_has "3mptbyplj5d5a" "missing name"
t_check "one record_parked line names uri and cause" \
    grep -q "event=record_parked uri=at://$DID/$EVC/3mptbyplj5d5a .*cause=\"invalid record: missing name\"" \
    "$T_DIR/processor.log"
t_check "dlq show prints the body" \
    bash -c "$PROC dlq show 1 | grep -q '\"rkey\": \"3mptbyplj5d5a\"'"
t_check "dlq list does not consume" dlq_has "3mptbyplj5d5a" "missing name"

# 5. A delete makes the event disappear.
send event "$EVC" 3mptbyplj5d2a 3mptbypluud6a delete
t_check "event delete reaches the API" t_wait_for 20 is_status "$E1" 404

# 6. API down: the message is retried, not lost, and arrives later.
t_stop api
E3="at://$DID/$EVC/3mptbyplj5d7a"
send event "$EVC" 3mptbyplj5d7a 3mptbypluud7a create \
    '{"name": "While down", "createdAt": "2026-07-01T10:00:00.000Z"}'
t_check "with the API down the message goes round the retry ladder" \
    t_wait_for 20 log_has "event=record_retry uri=$E3 rev=3mptbypluud7a status=0 attempts=1"
t_start api "$APIBIN"
t_wait_http "$API/health/liveness" 30
t_check "the retried message arrives once the API is back" \
    t_wait_for 40 is_status "$E3" 200

# 7. Replay puts a parked message back on the main exchange (this one is
# still invalid, so it is parked again); purge empties the DLQ.
t_check "dlq replay --filter republishes" \
    bash -c "$PROC dlq replay --filter 3mptbyplj5d5a | grep -q 'replayed 1 message'"
t_check "the replayed record is parked again" t_wait_for 20 \
    bash -c "[ \$(grep -c 'event=record_parked uri=at://$DID/$EVC/3mptbyplj5d5a ' '$T_DIR/processor.log') -ge 2 ]"
t_check "dlq purge" bash -c "$PROC dlq purge | grep -q 'purged'"
t_eq "dlq empty after purge" "0 message(s) in community.lexicon.calendar.dlq" \
    "$("$PROC" dlq list | tail -n 1)"

# 8. SIGTERM drains and exits 0.
t_stop processor TERM
t_check "processor logged a clean shutdown" log_has "event=shutdown "

t_done
