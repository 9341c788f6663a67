#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# The processor survives the broker closing its connection: it logs the
# cause, reconnects with backoff, and keeps delivering (messages published
# after the drop reach the real api).

source tests/lib/common.sh
t_init processor_reconnect

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
MGMT="curl -s -m 10 -u guest:guest"

# publish_event RKEY NAME: an event create on the exchange.
publish_event() {
	local body
	body=$(jq -nc --arg did "$DID" --arg c "$EVC" --arg k "$1" \
	    --arg n "$2" \
	    '{did: $did, time_us: 1, kind: "commit", commit: {rev:
	      "3mptbypluud2a", operation: "create", collection: $c, rkey: $k,
	      cid: "bafyreib2rxk3rh6kzwq", record: {name: $n,
	      createdAt: "2026-07-01T10:00:00.000Z"}}}')
	jq -nc --arg id "at://$DID/$EVC/$1#3mptbypluud2a" --arg b "$body" \
	    '{properties: {delivery_mode: 2, message_id: $id},
	      routing_key: "event.create", payload: $b,
	      payload_encoding: "string"}' |
	$MGMT -H 'content-type: application/json' -d @- \
	    "$T_MGMT_URL/api/exchanges/$VHOST/community.lexicon.calendar/publish" |
	    jq -e '.routed == true' >/dev/null
}

event_there() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' -m 5 \
	    -H "Authorization: Bearer $KEY" -H 'x-tenant-id: default' \
	    --get --data-urlencode "sourceId=at://$DID/$EVC/$1" \
	    --data-urlencode sourceType=bluesky \
	    "$API/api/events/by-source")" = 200 ]
}

# Succeeds once the processor has logged losing its connection; until
# then asks the broker (again) to close it. RabbitMQ 3.10 may answer 204 yet
# ignore a DELETE for a connection its stats have only just seen.
close_consumer() {
	local names
	grep -q 'event=mq_disconnected .*CONNECTION_FORCED' \
	    "$T_DIR/processor.log" && return 0
	names=$($MGMT "$T_MGMT_URL/api/vhosts/$VHOST/connections" |
	    jq -r '.[] | select(.client_properties.connection_name ==
	      "atcal-processor") | .name | @uri')
	[ -n "$names" ] || return 1
	while read -r n; do
		$MGMT -X DELETE -H 'X-Reason: test_processor_reconnect' \
		    "$T_MGMT_URL/api/connections/$n" >/dev/null
	done <<<"$names"
	return 1
}

connected_twice() {
	[ "$(grep -c 'event=mq_connected' "$T_DIR/processor.log")" -ge 2 ]
}

t_start api "$APIBIN"
t_wait_http "$API/health/liveness" 30
t_start processor "$PROC"
t_check "processor connects" t_wait_for 20 \
    grep -q event=mq_connected "$T_DIR/processor.log"
t_check "first event delivered" publish_event 3mptbyplj5d2a first
t_check "first event reaches the API" t_wait_for 20 event_there 3mptbyplj5d2a

t_check "a broker-closed connection is logged with the broker's reason" \
    t_wait_for 60 close_consumer
t_check "the processor reconnects" t_wait_for 30 connected_twice
t_check "publish after the drop" publish_event 3mptbyplj5d2b second
t_check "events still reach the API after reconnecting" \
    t_wait_for 20 event_there 3mptbyplj5d2b

t_stop processor TERM
t_check "clean shutdown" grep -q "event=shutdown " "$T_DIR/processor.log"

t_done
