#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# The dead-letter routes of the api against a real RabbitMQ vhost and the
# real processor: records the processor parks (invalid) and messages put in
# the DLQ with the processor's headers are listed and shown by the API
# exactly as `processor dlq` shows them; a replay by filter moves them back
# (valid ones are applied, invalid ones parked again); purge empties the
# queue; keys are required and must not be tenant-restricted; kill -9 of
# the api in the middle of a large replay loses no message.

source tests/lib/common.sh
t_init api_dlq

PROC=${PROC:-$T_BIN/processor}
APIBIN=${APIBIN:-$T_BIN/api}
[ -x "$APIBIN" ] && [ -x "$PROC" ] ||
	t_skip "$APIBIN or $PROC missing (make all)"
command -v amqp-publish >/dev/null || t_skip "amqp-publish missing (amqp-tools)"

DB=$(t_new_db) || t_skip "no Postgres (make services-up)"
MQ=$(t_new_vhost) || t_skip "no RabbitMQ (make services-up)"
VHOST=${MQ##*/}
PORT=$(t_free_port)
KEY="k-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
API="http://127.0.0.1:$PORT"
DLQ=community.lexicon.calendar.dlq
MAINQ=community.lexicon.calendar.queue

export DATABASE_URL=$DB API_LISTEN=127.0.0.1:$PORT API_WORKERS=1
export SERVICE_API_KEYS="$KEY,$KEY-t=default" API_KEY_RATE_LIMIT=off
export API_URL=$API API_KEY=$KEY TENANT_ID=default RABBITMQ_URL=$MQ
export LOG_LEVEL=info

DID=did:plc:2a7ygipkrbh544aqhcav53oy
EVC=community.lexicon.calendar.event

# envelope RKEY REV RECORD_JSON: a create commit envelope.
envelope() {
	jq -nc --arg did "$DID" --arg c "$EVC" --arg k "$1" --arg r "$2" \
	    --argjson rec "$3" \
	    '{did: $did, time_us: 1783175888085434, kind: "commit",
	      commit: {rev: $r, operation: "create", collection: $c,
	      rkey: $k, cid: "bafyreib2rxk3rh6kzwq", record: $rec},
	      seq: 1, source: "test"}'
}

# send RKEY REV RECORD_JSON: through the exchange, as the consumer would.
send() {
	jq -nc --arg id "at://$DID/$EVC/$1#$2" --arg b "$(envelope "$@")" \
	    '{properties: {delivery_mode: 2, content_type: "application/json",
	      message_id: $id}, routing_key: "event.create", payload: $b,
	      payload_encoding: "string"}' |
	curl -s -m 10 -u guest:guest -H 'content-type: application/json' \
	    -d @- "$T_MGMT_URL/api/exchanges/$VHOST/community.lexicon.calendar/publish" |
	    jq -e '.routed == true' >/dev/null
}

# park_lines REASON < lines: each line parked straight into the DLQ with
# the headers the processor writes (no message id: the uri and routing key
# must come from the headers and the body).
park_lines() {
	amqp-publish -u "$MQ" -e "" -r "$DLQ" -p -C application/json \
	    -H "x-reason: $1" -H "x-routing-key: event.create" \
	    -H "x-last-error: test parked" -H "x-first-failure-at: 2026-07-01T10:00:00.000Z" \
	    -H "x-last-failure-at: 2026-07-01T10:00:01.000Z" -l
}

# api METHOD PATH [curl args]: body on stdout, status in $T_DIR/code.
api() {
	local m=$1 p=$2
	shift 2
	curl -s -m 120 -o "$T_DIR/body" -w '%{http_code}' -X "$m" \
	    -H "Authorization: Bearer $KEY" -H 'x-tenant-id: default' "$@" \
	    "$API$p" >"$T_DIR/code"
	cat "$T_DIR/body"
}
code() { cat "$T_DIR/code"; }

qdepth() {
	curl -s -m 10 -u guest:guest "$T_MGMT_URL/api/queues/$VHOST/$1" |
	    jq -r '(.messages_ready // 0) + (.messages_unacknowledged // 0)'
}

# rkeys QUEUE: the commit rkeys of every message in QUEUE (peeked and
# requeued), sorted.
rkeys() {
	curl -s -m 60 -u guest:guest -H 'content-type: application/json' \
	    -d '{"count": 100000, "ackmode": "ack_requeue_true",
	         "encoding": "auto", "truncate": 100000}' \
	    "$T_MGMT_URL/api/queues/$VHOST/$1/get" |
	    jq -r '.[].payload | fromjson | .commit.rkey' | sort
}

is_status() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' -m 5 \
	    -H "Authorization: Bearer $KEY" -H 'x-tenant-id: default' \
	    --get --data-urlencode "sourceId=$1" \
	    --data-urlencode sourceType=bluesky "$API/api/events/by-source")" = "$2" ]
}

# dlq_count N: exactly N messages in the DLQ (counted by peeking: the
# management API's queue statistics lag by seconds).
dlq_count() { [ "$(rkeys $DLQ | wc -l)" = "$1" ]; }
log_has() { grep -qF -- "$1" "$T_DIR/processor.log"; }

# 0. Without RABBITMQ_URL the routes answer 503 dlq_unavailable.
RABBITMQ_URL= t_start api_nomq "$APIBIN"
t_wait_http "$API/health/liveness" 30
api GET /api/integration/dlq >/dev/null
t_eq "no RABBITMQ_URL: 503 dlq_unavailable" "503 dlq_unavailable" \
    "$(code) $(jq -r .error "$T_DIR/body")"
t_stop api_nomq

t_start api "$APIBIN"
t_wait_http "$API/health/liveness" 30
t_start processor "$PROC"
t_check "processor connects to RabbitMQ" \
    t_wait_for 20 log_has "event=mq_connected"

# 1. Auth: no key 401, tenant-restricted key 403, wrong method 405.
t_eq "no key -> 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' \
    -H 'x-tenant-id: default' "$API/api/integration/dlq")"
t_eq "bad key -> 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' \
    -H 'Authorization: Bearer nope' -H 'x-tenant-id: default' "$API/api/integration/dlq")"
t_eq "tenant-restricted key -> 403" 403 "$(curl -s -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $KEY-t" -H 'x-tenant-id: default' "$API/api/integration/dlq")"
t_eq "key in ?api_key= works" 200 "$(curl -s -o /dev/null -w '%{http_code}' \
    -H 'x-tenant-id: default' "$API/api/integration/dlq?api_key=$KEY")"
api POST /api/integration/dlq --data-binary '{}' >/dev/null
t_eq "POST on the list -> 405" 405 "$(code)"

# 2. Three invalid records parked by the processor, two valid ones put in
# the DLQ by hand with the processor's headers.
for k in 3mptdlqbad1a 3mptdlqbad2a 3mptdlqbad3a; do
	send $k 3mptbypluud2a '{"createdAt": "2026-07-01T10:00:00.000Z"}'
done
t_check "the processor parks the three invalid records" t_wait_for 30 dlq_count 3
{
	envelope 3mptdlqgood1 3mptbypluud2a '{"name": "Parked good 1", "createdAt": "2026-07-01T10:00:00.000Z"}'
	envelope 3mptdlqgood2 3mptbypluud2a '{"name": "Parked good 2", "createdAt": "2026-07-01T10:00:00.000Z"}'
} | park_lines "manually parked"
t_check "five messages parked" t_wait_for 10 dlq_count 5

# 3. List and show match `processor dlq`.
L=$(api GET /api/integration/dlq)
t_eq "list -> 200" 200 "$(code)"
t_eq "list depth and count" "5 5" "$(jq -r '"\(.depth) \(.count)"' <<<"$L")"
CLI=$("$PROC" dlq list)
t_eq "list uris match the CLI" \
    "$(grep -o ' uri=[^ ]*' <<<"$CLI" | cut -d= -f2)" \
    "$(jq -r '.messages[].uri' <<<"$L")"
t_eq "list reasons match the CLI" \
    "$(grep -o 'reason="[^"]*"' <<<"$CLI" | cut -d'"' -f2)" \
    "$(jq -r '.messages[].reason' <<<"$L")"
t_eq "list routing keys match the CLI" \
    "$(grep -o 'routing_key=[^ ]*' <<<"$CLI" | cut -d= -f2)" \
    "$(jq -r '.messages[].routingKey' <<<"$L")"
t_eq "list statuses and attempts match the CLI" \
    "$(grep -o 'status=[0-9]* attempts=[0-9]*' <<<"$CLI")" \
    "$(jq -r '.messages[] | "status=\(.lastStatus) attempts=\(.attempts)"' <<<"$L")"
t_eq "parked invalid record: reason, status 422, failure times" \
    "invalid record: missing name true true" \
    "$(jq -r '.messages[0] | "\(.reason) \(.firstFailureAt != null) \(.lastFailureAt != null)"' <<<"$L")"
t_eq "manually parked: uri from the body" "at://$DID/$EVC/3mptdlqgood1" \
    "$(jq -r '.messages[3].uri' <<<"$L")"
t_eq "limit=2 lists two of five" "5 2" \
    "$(api GET '/api/integration/dlq?limit=2' | jq -r '"\(.depth) \(.count)"')"
api GET '/api/integration/dlq?limit=0' >/dev/null
t_eq "limit=0 -> 422" 422 "$(code)"
t_check "listing removed nothing" dlq_count 5

# Indices are positions at the time of the call (peeking through the
# management API above may have reordered the queue): take them from a
# fresh list, which must also be the order of the next one.
L=$(api GET /api/integration/dlq)
t_eq "two lists in a row give the same order" "$(jq -c '[.messages[].uri]' <<<"$L")" \
    "$(api GET /api/integration/dlq | jq -c '[.messages[].uri]')"
I=$(jq -r --arg u "at://$DID/$EVC/3mptdlqgood1" '.messages[] | select(.uri == $u) | .index' <<<"$L")
S=$(api GET "/api/integration/dlq/$I")
t_eq "show -> 200" 200 "$(code)"
t_eq "show: index, uri and body" "$I at://$DID/$EVC/3mptdlqgood1 Parked good 1" \
    "$(jq -r '"\(.index) \(.uri) \(.body.commit.record.name)"' <<<"$S")"
t_eq "show matches the CLI's line" \
    "$("$PROC" dlq show "$I" | head -n 1 | grep -o ' uri=[^ ]*' | cut -d= -f2)" \
    "$(jq -r .uri <<<"$S")"
I=$(jq -r --arg u "at://$DID/$EVC/3mptdlqbad1a" '.messages[] | select(.uri == $u) | .index' <<<"$L")
S=$(api GET "/api/integration/dlq/$I")
t_eq "show of a processor-parked one has its message id" \
    "at://$DID/$EVC/3mptdlqbad1a#3mptbypluud2a" "$(jq -r .messageId <<<"$S")"
api GET /api/integration/dlq/99 >/dev/null
t_eq "show beyond the depth -> 404" 404 "$(code)"
api GET /api/integration/dlq/abc >/dev/null
t_eq "show of a non-number -> 404" 404 "$(code)"
t_check "showing removed nothing" dlq_count 5

# 4. Replay: selection errors, then by filter (valid ones are applied,
# invalid ones parked again), then by index.
for b in '{}' '{"all":false}' '{"all":true,"index":1}' '{"filter":""}' \
    '{"index":0}' '{"index":"1"}' '[1]'; do
	api POST /api/integration/dlq/replay -H 'content-type: application/json' \
	    --data-binary "$b" >/dev/null
	t_eq "replay body $b -> 422" 422 "$(code)"
done
api POST /api/integration/dlq/replay --data-binary '{"all":' >/dev/null
t_eq "replay malformed JSON -> 400" 400 "$(code)"
api POST /api/integration/dlq/replay --data-binary '{"index":42}' >/dev/null
t_eq "replay of a missing index -> 404" 404 "$(code)"
t_check "bad replays moved nothing" dlq_count 5

R=$(api POST /api/integration/dlq/replay --data-binary '{"filter":"3mptdlqgood"}')
t_eq "replay by filter -> 200, 2 replayed" "200 2 0" \
    "$(code) $(jq -r '"\(.replayed) \(.skipped)"' <<<"$R")"
t_check "replayed valid record 1 is applied" \
    t_wait_for 30 is_status "at://$DID/$EVC/3mptdlqgood1" 200
t_check "replayed valid record 2 is applied" \
    t_wait_for 30 is_status "at://$DID/$EVC/3mptdlqgood2" 200
t_check "the DLQ keeps the three invalid ones" t_wait_for 10 dlq_count 3

R=$(api POST /api/integration/dlq/replay --data-binary '{"filter":"missing name"}')
t_eq "replay of the invalid ones -> 3 replayed" 3 "$(jq -r .replayed <<<"$R")"
t_check "the processor parks them again" t_wait_for 30 bash -c \
    "[ \$(grep -c 'event=record_parked uri=at://$DID/$EVC/3mptdlqbad' '$T_DIR/processor.log') -ge 6 ]"
t_check "back to three in the DLQ" t_wait_for 10 dlq_count 3
R=$(api POST /api/integration/dlq/replay --data-binary '{"index":2}')
t_eq "replay by index -> 1 replayed" "200 1" "$(code) $(jq -r .replayed <<<"$R")"
t_check "parked once more" t_wait_for 30 bash -c \
    "[ \$(grep -c 'event=record_parked uri=at://$DID/$EVC/3mptdlqbad' '$T_DIR/processor.log') -ge 7 ]"

# 5. Purge.
t_check "three in the DLQ before purge" t_wait_for 10 dlq_count 3
P=$(api DELETE /api/integration/dlq)
t_eq "purge -> 200, purged 3" "200 3" "$(code) $(jq -r .purged <<<"$P")"
t_eq "empty after purge" "0 0" \
    "$(api GET /api/integration/dlq | jq -r '"\(.depth) \(.count)"')"
t_eq "the CLI agrees" "0 message(s) in $DLQ" "$("$PROC" dlq list | tail -n 1)"

# 6. kill -9 of the api during a large replay: every message is still in
# the DLQ or in the main queue (the processor is stopped so none is
# applied meanwhile), none missing; a later replay delivers them all.
t_stop processor
N=${DLQ_KILL_N:-3000}
for i in $(seq 1 "$N"); do
	envelope "3mptkill$i" 3mptbypluud2a "{\"name\": \"Kill $i\", \"createdAt\": \"2026-07-01T10:00:00.000Z\"}"
done >"$T_DIR/bulk"
park_lines "bulk" <"$T_DIR/bulk"
t_check "$N messages parked" t_wait_for 30 dlq_count "$N"
sed 's/.*"rkey":"\([^"]*\)".*/\1/' "$T_DIR/bulk" | sort >"$T_DIR/want"
curl -s -m 300 -o "$T_DIR/replay_out" -X POST -H "Authorization: Bearer $KEY" \
    -H 'x-tenant-id: default' --data-binary '{"all":true}' \
    "$API/api/integration/dlq/replay" &
CURL=$!
# A message in the main queue (peeked, requeued): the replay is under way.
mid() {
	curl -s -m 10 -u guest:guest -H 'content-type: application/json' \
	    -d '{"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto"}' \
	    "$T_MGMT_URL/api/queues/$VHOST/$MAINQ/get" | jq -e 'length > 0' >/dev/null
}
t_check "replay under way" t_wait_for 60 mid
# The api's whole process group (parent and the worker doing the replay).
kill -9 -- "-$(t_pid api)"
wait "$CURL" 2>/dev/null
t_stop api
# Messages the dead connection held return to the DLQ once the broker
# notices: poll until the two queues hold them all, or time out.
have() {
	{ rkeys $DLQ; rkeys $MAINQ; } | sort -u >"$T_DIR/have"
	cmp -s "$T_DIR/want" "$T_DIR/have"
}
t_wait_for 20 have
t_eq "no message lost: DLQ + main queue hold every one" \
    "" "$(comm -23 "$T_DIR/want" "$T_DIR/have" | head -5)"
t_eq "nothing but them" "" "$(comm -13 "$T_DIR/want" "$T_DIR/have" | head -5)"
INDLQ=$(rkeys $DLQ | wc -l)
INMAIN=$(rkeys $MAINQ | wc -l)
echo "kill -9 mid-replay: $INDLQ in the DLQ, $INMAIN in the main queue (of $N)"
t_check "the kill landed mid-replay (some in each queue)" \
    test "$INDLQ" -gt 0 -a "$INMAIN" -gt 0
t_check "the answer never came" test ! -s "$T_DIR/replay_out"

t_start api2 "$APIBIN"
t_wait_http "$API/health/liveness" 30
R=$(api POST /api/integration/dlq/replay --data-binary '{"all":true}')
t_eq "replay of the rest after the restart" "200 $INDLQ" \
    "$(code) $(jq -r .replayed <<<"$R")"
t_check "DLQ empty" t_wait_for 10 dlq_count 0
t_eq "every message in the main queue" "" \
    "$(comm -23 "$T_DIR/want" <(rkeys $MAINQ | sort -u) | head -5)"
t_start processor2 "$PROC"
t_check "the processor drains the main queue" t_wait_for 120 bash -c \
    "[ \$(curl -s -u guest:guest '$T_MGMT_URL/api/queues/$VHOST/$MAINQ' | jq '.messages') = 0 ]"
t_eq "every replayed record applied once" "$N" \
    "$(psql -X -qAt "$DB" -c "SELECT count(*) FROM events WHERE source_id LIKE 'at://$DID/$EVC/3mptkill%'")"
t_check "nothing parked" dlq_count 0

t_done
