#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# The live consumer against a hostile firehose (tests/interop/
# hostile_firehose.mjs): valid commits interleaved with a text frame, a
# 6 MB frame, a truncated frame, a record whose block does not match its
# CID, a frame nested 100 deep, a record with NUL in a map key and a final
# FutureCursor error frame. The consumer must never crash, publish every
# valid calendar op (once per delivery of its frame, nothing else), log one
# record_dropped line (uri + cause) per bad record delivery and one
# frame_dropped line per bad frame, reconnect after the text frame and the
# error frame, and end with the last seq stored as its cursor.
# CONSUMER_BIN runs another build (e.g. one with SANITIZE=address,undefined).
. "$(dirname "$0")/../lib/common.sh"
t_init consumer_hostile

NODE=tests/interop/node_modules/.bin/node
[ -x "$NODE" ] || t_skip "npm packages missing (scripts/deps.sh --test)"
CONSUMER=${CONSUMER_BIN:-build/bin/consumer}
for b in "$CONSUMER" build/bin/api; do
	[ -x "$b" ] || { t_check "$b is built" false; t_done; }
done

MAN=$T_DIR/manifest.json
SRV=$T_DIR/hostile.log
CONS=$T_DIR/consumer.log
PORT=$(t_free_port)
t_start hostile "$NODE" tests/interop/hostile_firehose.mjs "$PORT" "$MAN"
t_wait_for 20 grep -q "^listening" "$SRV" ||
    { t_check "hostile server listens" false; t_done; }

DB=$(t_new_db) && VH=$(t_new_vhost) ||
    { t_check "database and vhost created" false; t_done; }
VHOST=${VH##*/}
SERVICE_API_KEYS=unused DATABASE_URL=$DB build/bin/api migrate \
    >"$T_DIR/migrate.log" 2>&1
t_check "schema applied" grep -q migrated "$T_DIR/migrate.log"

export RABBITMQ_URL=$VH DATABASE_URL=$DB SOURCE_CURSOR=0 LOG_LEVEL=info
export SOURCE_URL=ws://127.0.0.1:$PORT/xrpc/com.atproto.sync.subscribeRepos
LAST=$(jq '[.frames[].seq // empty] | max' "$MAN")

peek() {	# every queued message as {id, rk, body}, left queued
	curl -s -u guest:guest -X POST -H 'content-type: application/json' \
	    -d '{"count":100000,"ackmode":"ack_requeue_true","encoding":"auto"}' \
	    "$T_MGMT_URL/api/queues/$VHOST/community.lexicon.calendar.queue/get" |
	    jq -c '.[] | {id: .properties.message_id, rk: .routing_key,
	    body: .payload}'
}

queue_len() {
	curl -s -u guest:guest \
	    "$T_MGMT_URL/api/queues/$VHOST/community.lexicon.calendar.queue" |
	    jq -r '.messages // 0'
}

sends() {	# frame name: how many times the server sent it
	grep -c "^sent $1 " "$SRV"
}

# Messages the consumer must have published: each publishable op once per
# delivery of its frame.
want_total() {
	local name n total=0
	for name in $(jq -r '.frames[] | select(.publish | length > 0) | .name' \
	    "$MAN"); do
		n=$(jq --arg n "$name" \
		    '.frames[] | select(.name == $n) | .publish | length' "$MAN")
		total=$((total + n * $(sends "$name")))
	done
	echo "$total"
}

settled() {	# reconnected after the error frame, everything sent is queued
	grep -q "^sent error " "$SRV" &&
	    [ "$(grep -c "^conn [0-9]* cursor=" "$SRV")" -ge 3 ] &&
	    [ "$(queue_len)" -eq "$(want_total)" ]
}

t_start consumer "$CONSUMER"
t_check "the consumer works through the whole stream" t_wait_for 60 settled
t_check "consumer alive" kill -0 "$(t_pid consumer)"
t_check "no crash or sanitizer report" bash -c \
    "! grep -Eq 'AddressSanitizer|runtime error|Segmentation|core dumped' '$CONS'"

# Published: exactly the valid calendar ops, right routing keys.
peek >"$T_DIR/queued.jsonl"
WANT=$(jq -r '.frames[].publish[] | "\(.id) \(.rk)"' "$MAN" | sort)
GOT=$(jq -r '"\(.id) \(.rk)"' "$T_DIR/queued.jsonl" | sort -u)
t_eq "every valid calendar op published, nothing else" "$WANT" "$GOT"
t_eq "one message per op per delivery" "$(want_total)" \
    "$(wc -l <"$T_DIR/queued.jsonl")"
t_check "a NUL inside a value survives as \\u0000" jq -se \
    'map(.body | fromjson | .commit.record.note? // empty) |
    index("nul\u0000inside") != null' "$T_DIR/queued.jsonl"

# One record_dropped line (uri and cause) per bad record per delivery.
while read -r name uri cause; do
	t_eq "record_dropped for $uri ($cause)" "$(sends "$name")" \
	    "$(grep "event=record_dropped" "$CONS" | grep -F "uri=$uri " |
	    grep -c "$cause")"
done < <(jq -r '.frames[] | .name as $n | .drop[] | "\($n) \(.uri) \(.cause)"' \
    "$MAN")
WANT_DROPS=0
while read -r name; do
	WANT_DROPS=$((WANT_DROPS + $(sends "$name")))
done < <(jq -r '.frames[] | .name as $n | .drop[] | $n' "$MAN")
t_eq "no other record dropped" "$WANT_DROPS" \
    "$(grep -c "event=record_dropped" "$CONS")"

# One frame_dropped line per bad frame, naming its length and cause.
flen() {
	jq --arg n "$1" '.frames[] | select(.name == $n) | .len' "$MAN"
}
t_eq "oversized frame dropped and logged" 1 "$(grep "event=frame_dropped" \
    "$CONS" | grep "len=$(flen oversized) " | grep -c "larger than")"
t_eq "truncated frame dropped and logged" 1 "$(grep "event=frame_dropped" \
    "$CONS" | grep -c "len=$(flen truncated) ")"
t_eq "deeply nested frame dropped and logged" 1 "$(grep \
    "event=frame_dropped" "$CONS" | grep "len=$(flen deep) " |
    grep -c "depth")"
t_eq "no other frame dropped" 3 "$(grep -c "event=frame_dropped" "$CONS")"

# The text frame and the error frame each cause a logged reconnect.
t_eq "text frame logged as a protocol error" 1 \
    "$(grep "event=source_protocol_error" "$CONS" | grep -c "text frame")"
t_eq "FutureCursor error frame logged" 1 \
    "$(grep "event=source_error_frame" "$CONS" | grep -c "FutureCursor")"
t_eq "FutureCursor: cursor reset to the source's live tip, logged" 1 \
    "$(grep -c "event=cursor_reset" "$CONS")"
t_check "reconnected after each (3+ connections)" \
    test "$(grep -c "event=source_connected" "$CONS")" -ge 3
t_check "disconnects logged" \
    test "$(grep -c "event=source_disconnected" "$CONS")" -ge 2

t_stop consumer TERM
STORED=$(psql -X -qtA -h "$T_PG_HOST" -p "$T_PG_PORT" -U "$T_PG_USER" \
    "${DB##*/}" -c "select seq from ingest_cursors")
t_eq "cursor stored is the last seq" "$LAST" "$STORED"
t_done
