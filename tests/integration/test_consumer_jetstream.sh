#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# The consumer's Jetstream source against a Jetstream-compatible server
# (tests/interop/jetstream_server.mjs) serving the production Jetstream
# capture: wantedCollections is sent and honoured, every wanted commit
# becomes exactly one message with the right routing key and id, so do the
# identity and account events (FORWARD_IDENTITY is on by default), the cursor
# (time_us) is stored and a restart resumes from it (rewound, so repeats are
# allowed but nothing is missed), and compress=true with the zstd dictionary
# yields the same messages.
. "$(dirname "$0")/../lib/common.sh"
t_init consumer_jetstream

FIX=${FIXTURES_DIR:-../shared/fixtures}/jetstream-corpus
[ -f "$FIX/expected_v1.jsonl" ] || t_skip "$FIX absent (../shared missing)"
[ -d tests/interop/node_modules/ws ] || t_skip "npm packages missing (scripts/deps.sh --test)"
NODE=node
[ -x tests/interop/node_modules/.bin/node ] && NODE=$T_ROOT/tests/interop/node_modules/.bin/node

COLLS=app.bsky.feed.like,app.bsky.feed.post
EVENTS=$T_DIR/events.jsonl
cp "$FIX/expected_v1.jsonl" "$EVENTS"
APPEND=$T_DIR/append.jsonl
: >"$APPEND"

want_ids() {	# message ids expected for a jsonl file: wanted commits, identity and account events
	jq -r --arg c "$COLLS" 'if .kind == "commit" then
	    select(.commit.collection as $x | $c | split(",") | index($x)) |
	    "at://\(.did)/\(.commit.collection)/\(.commit.rkey)#\(.commit.rev)"
	    elif .kind == "identity" or .kind == "account" then "\(.did)#\(.time_us)"
	    else empty end' "$@" | sort
}

queue_len() {	# vhost
	curl -s -u guest:guest "$T_MGMT_URL/api/queues/$1/community.lexicon.calendar.queue" |
	    jq -r '.messages // 0'
}

drain_ids() {	# vhost: takes every message, echoes sorted ids
	curl -s -u guest:guest -X POST -H 'content-type: application/json' \
	    -d '{"count":100000,"ackmode":"ack_requeue_false","encoding":"auto"}' \
	    "$T_MGMT_URL/api/queues/$1/community.lexicon.calendar.queue/get" |
	    jq -r '.[] | .properties.message_id' | sort
}

routing_keys_ok() {	# vhost: routing key record.<op>, identity.update or account.<status>; body has seq/source
	curl -s -u guest:guest -X POST -H 'content-type: application/json' \
	    -d '{"count":100000,"ackmode":"ack_requeue_true","encoding":"auto"}' \
	    "$T_MGMT_URL/api/queues/$1/community.lexicon.calendar.queue/get" |
	    jq -e 'all(.[]; (.payload | fromjson) as $p | $p.seq == $p.time_us and
	         ($p.source | startswith("127.0.0.1:")) and
	         if $p.kind == "commit" then
	             .routing_key == "record.\($p.commit.operation)"
	         elif $p.kind == "identity" then .routing_key == "identity.update"
	         elif $p.kind == "account" then
	             .routing_key == (if $p.account.active then "account.active"
	                 else "account.\($p.account.status)" end)
	         else false end)' >/dev/null
}

peek_ids() {	# vhost: echoes sorted ids, leaving the messages queued
	curl -s -u guest:guest -X POST -H 'content-type: application/json' \
	    -d '{"count":100000,"ackmode":"ack_requeue_true","encoding":"auto"}' \
	    "$T_MGMT_URL/api/queues/$1/community.lexicon.calendar.queue/get" |
	    jq -r '.[] | .properties.message_id' | sort -u
}

has_all() {	# vhost file: every wanted id of file is queued
	[ -z "$(comm -23 <(want_ids "$2") <(peek_ids "$1"))" ]
}

at_least() {	# vhost n
	[ "$(queue_len "$1")" -ge "$2" ]
}

PORT=$(t_free_port)
t_start jetstream env JETSTREAM_APPEND="$APPEND" "$NODE" \
    tests/interop/jetstream_server.mjs "$EVENTS" "$PORT" "$FIX/jetstream_v1.zdict"
t_wait_for 20 ss -Hltn "sport = :$PORT" || { _t_record 1 "server listens"; t_done; }

DB=$(t_new_db) && VH=$(t_new_vhost) || t_done
VHOST=${VH##*/}
SERVICE_API_KEYS=unused DATABASE_URL=$DB build/bin/api migrate >"$T_DIR/migrate.log" 2>&1
t_check "schema applied" grep -q migrated "$T_DIR/migrate.log"

export RABBITMQ_URL=$VH DATABASE_URL=$DB SOURCE_COLLECTIONS=$COLLS
export SOURCE_URL=ws://127.0.0.1:$PORT/subscribe SOURCE_CURSOR=0
N=$(want_ids "$EVENTS" | wc -l)
t_check "the capture holds wanted commits" test "$N" -gt 100

t_start consumer build/bin/consumer
t_check "all $N wanted events published" t_wait_for 40 at_least "$VHOST" "$N"
t_check "server got wantedCollections (profiles follow identity)" grep -q \
    "wantedCollections=app.bsky.feed.like&wantedCollections=app.bsky.feed.post&wantedCollections=app.bsky.actor.profile" \
    "$T_DIR/jetstream.log"
t_eq "identity and account events among them" 2 \
    "$(want_ids "$EVENTS" | grep -vc '^at://')"
t_check "routing keys and bodies" routing_keys_ok "$VHOST"
t_stop consumer TERM
STORED=$(psql -X -qtA -h 127.0.0.1 -p 5433 -U atcal "${DB##*/}" -c "select seq from ingest_cursors")
LAST=$(jq -s 'map(.time_us) | max' "$EVENTS")
t_eq "cursor stored is the last event's time_us" "$LAST" "$STORED"
t_eq "exactly the wanted events, once each" "$(want_ids "$EVENTS")" "$(drain_ids "$VHOST" | uniq)"

# New events while stopped, then a restart: resumes from the stored cursor.
jq -c --argjson t "$LAST" 'select(.kind=="commit") | .time_us += 60000000 + $t - 1783175888085434 |
    .commit.rkey += "x"' "$FIX/expected_v1.jsonl" | head -n 20 >"$T_DIR/new.jsonl"
t_start consumer build/bin/consumer
t_wait_for 20 grep -q "source_connected" "$T_DIR/consumer.log"
cat "$T_DIR/new.jsonl" >>"$APPEND"
t_check "new events after restart arrive" t_wait_for 30 has_all "$VHOST" "$T_DIR/new.jsonl"
t_check "restart asked for the stored cursor (rewound)" grep -q "cursor=$((STORED - 5000000))" "$T_DIR/jetstream.log"
t_stop consumer TERM
GOT=$(drain_ids "$VHOST" | sort -u)
MISSING=$(comm -23 <(want_ids "$T_DIR/new.jsonl") <(echo "$GOT"))
t_eq "no new event missed after restart" "" "$MISSING"

# compress=true with the dictionary: same messages.
VH2=$(t_new_vhost) || t_done
DB2=$(t_new_db) || t_done
SERVICE_API_KEYS=unused DATABASE_URL=$DB2 build/bin/api migrate >/dev/null 2>&1
RABBITMQ_URL=$VH2 DATABASE_URL=$DB2 JETSTREAM_ZSTD_DICTIONARY=$FIX/jetstream_v1.zdict \
    t_start consumer_zstd build/bin/consumer
ALL=$(cat "$EVENTS" "$T_DIR/new.jsonl" | want_ids | wc -l)
t_check "compressed stream: all $ALL events published" t_wait_for 40 at_least "${VH2##*/}" "$ALL"
t_check "server saw compress=true" grep -q "compress=true" "$T_DIR/jetstream.log"
t_stop consumer_zstd TERM
t_eq "compressed stream: exactly the wanted events" "$(cat "$EVENTS" "$T_DIR/new.jsonl" | want_ids)" "$(drain_ids "${VH2##*/}" | uniq)"
t_check "no frame dropped" bash -c "! grep -q frame_dropped $T_DIR/consumer_zstd.log $T_DIR/consumer.log"
t_done
