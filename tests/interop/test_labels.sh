# SPDX-License-Identifier: ISC
#
# `consumer labels` against two small labelers (tests/interop/
# label_server.mjs, real subscribeLabels DAG-CBOR frames): a !hide label for
# an event then its negation on one host, a label and an invalid label on
# the other. The messages published must be right (routing key label.apply
# / label.negate, body {src, uri, cid, val, neg, cts, exp, seq, source}),
# the invalid label dropped with a log line, the cursor stored per host,
# and after a restart each host resumes after its cursor (no replay).
# Nothing consumes the queue here: its contents are read and asserted.

source tests/lib/common.sh
t_init labels

IDIR=tests/interop
NODE=$IDIR/node_modules/.bin/node
[ -x "$NODE" ] ||
    t_skip "$IDIR/node_modules missing: run scripts/deps.sh --test"
[ -x "$T_BIN/consumer" ] && [ -x "$T_BIN/api" ] || {
	t_check "$T_BIN/consumer and api are built" false
	t_done
}

DATABASE_URL=$(t_new_db) || { t_check "create database" false; t_done; }
RABBITMQ_URL=$(t_new_vhost) || { t_check "create vhost" false; t_done; }
VHOST=${RABBITMQ_URL##*/}
export DATABASE_URL RABBITMQ_URL LOG_LEVEL=${LOG_LEVEL:-info}
export METRICS_LISTEN=off SERVICE_API_KEYS=unused
t_check "migrations apply" "$T_BIN/api" migrate || t_done

L1=$(t_free_port)
L2=$(t_free_port)
LABEL_PORT=$L1 t_start lab1 "$NODE" "$IDIR/label_server.mjs"
LABEL_PORT=$L2 t_start lab2 "$NODE" "$IDIR/label_server.mjs"
t_wait_http "http://127.0.0.1:$L1/" 30
t_wait_http "http://127.0.0.1:$L2/" 30

MOD=did:plc:ar7c4by46qjdydhdevvrndac
EV=at://did:plc:2a7ygipkrbh544aqhcav53oy/community.lexicon.calendar.event/3lbfm7k2kkc2a
CID=bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm
emit() {	# emit PORT JSON
	curl -sf -m 5 -X POST -d "$2" "http://127.0.0.1:$1/emit" >/dev/null
}
t_check "labeler 1: !hide on the event" emit "$L1" "{\"seq\":1,\"labels\":
    [{\"src\":\"$MOD\",\"uri\":\"$EV\",\"cid\":\"$CID\",\"val\":\"!hide\",
    \"cts\":\"2026-01-02T03:04:05.000Z\"}]}"
t_check "labeler 2: a label and an invalid one" emit "$L2" "{\"seq\":5,
    \"labels\":[{\"src\":\"$MOD\",\"uri\":\"did:plc:2a7ygipkrbh544aqhcav53oy\",
    \"val\":\"spam\",\"cts\":\"2026-01-02T03:04:06.000Z\",
    \"exp\":\"2027-01-01T00:00:00.000Z\"},{\"src\":\"nobody\",\"uri\":\"$EV\",
    \"val\":\"!hide\",\"cts\":\"2026-01-02T03:04:07.000Z\"}]}"

export LABELER_HOSTS="ws://127.0.0.1:$L1, ws://127.0.0.1:$L2/"
t_start labels "$T_BIN/consumer" labels

queue_ready() {
	curl -s -m 5 -u guest:guest \
	    "$T_MGMT_URL/api/queues/$VHOST/community.lexicon.calendar.queue" |
	    jq -r '.messages_ready // 0'
}
ready_is() {
	[ "$(queue_ready)" = "$1" ]
}
# Takes every ready message off the main queue, as JSON lines
# {rk, body}, sorted by seq.
drain() {
	curl -s -m 10 -u guest:guest -X POST -H 'content-type: application/json' \
	    -d '{"count":100,"ackmode":"ack_requeue_false","encoding":"auto"}' \
	    "$T_MGMT_URL/api/queues/$VHOST/community.lexicon.calendar.queue/get" |
	    jq -c '.[] | {rk: .routing_key, body: (.payload | fromjson)}' |
	    jq -sc 'sort_by(.body.seq) | .[]'
}

t_check "the !hide label is published" t_wait_for 30 ready_is 2
t_check "labeler 1: the negation" emit "$L1" "{\"seq\":2,\"labels\":
    [{\"src\":\"$MOD\",\"uri\":\"$EV\",\"cid\":\"$CID\",\"val\":\"!hide\",
    \"neg\":true,\"cts\":\"2026-01-03T00:00:00.000Z\"}]}"
t_check "three labels published in all" t_wait_for 30 ready_is 3
drain >"$T_DIR/msgs1.jsonl"
t_eq "routing keys" "label.apply label.negate label.apply" \
    "$(jq -r .rk "$T_DIR/msgs1.jsonl" | tr '\n' ' ' | sed 's/ $//')"
t_eq "apply body" "{\"src\":\"$MOD\",\"uri\":\"$EV\",\"cid\":\"$CID\",\
\"val\":\"!hide\",\"neg\":false,\"cts\":\"2026-01-02T03:04:05.000Z\",\
\"exp\":null,\"seq\":1,\"source\":\"127.0.0.1:$L1\"}" \
    "$(sed -n 1p "$T_DIR/msgs1.jsonl" | jq -c .body)"
t_eq "negate body" "$EV !hide true 2 127.0.0.1:$L1" \
    "$(sed -n 2p "$T_DIR/msgs1.jsonl" |
    jq -r '.body | [.uri, .val, .neg, .seq, .source] | join(" ")')"
t_eq "second host's label" "spam false 2027-01-01T00:00:00.000Z 5 null 127.0.0.1:$L2" \
    "$(sed -n 3p "$T_DIR/msgs1.jsonl" |
    jq -r '.body | [.val, .neg, .exp, .seq, (.cid | tostring), .source] | join(" ")')"
t_check "invalid label dropped with a log line" \
    grep -q 'event=label_dropped .*cause=.*src' "$T_DIR/labels.log"

psqlq() {
	psql -X -qtA "$DATABASE_URL" -c "$1"
}
cursors_are() {
	[ "$(psqlq "SELECT string_agg(host || '=' || seq, ' ' ORDER BY
	    seq) FROM label_cursors")" = "$1" ]
}
t_check "cursor stored per host" t_wait_for 15 cursors_are \
    "127.0.0.1:$L1=2 127.0.0.1:$L2=5"
t_stop labels TERM

t_check "labeler 1: a label while the subscriber is down" emit "$L1" \
    "{\"seq\":3,\"labels\":[{\"src\":\"$MOD\",\"uri\":\"$EV\",
    \"val\":\"!warn\",\"cts\":\"2026-01-04T00:00:00.000Z\"}]}"
t_start labels "$T_BIN/consumer" labels
t_check "restart: host 1 resumes after seq 2" t_wait_for 30 \
    grep -q 'connect cursor=2$' "$T_DIR/lab1.log"
t_check "restart: host 2 resumes after seq 5" t_wait_for 30 \
    grep -q 'connect cursor=5$' "$T_DIR/lab2.log"
t_check "only the new label is published" t_wait_for 30 ready_is 1
drain >"$T_DIR/msgs2.jsonl"
t_eq "the new label" "label.apply !warn 3" \
    "$(jq -r '"\(.rk) \(.body.val) \(.body.seq)"' "$T_DIR/msgs2.jsonl")"
t_check "cursor advanced" t_wait_for 15 cursors_are \
    "127.0.0.1:$L1=3 127.0.0.1:$L2=5"
t_eq "nothing replayed after the cursor" "" "$(drain)"
t_check "labels subscriber still running" kill -0 "$(t_pid labels)"

t_done
