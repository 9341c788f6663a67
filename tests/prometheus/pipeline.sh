# SPDX-License-Identifier: ISC
# shellcheck shell=bash
#
# Sourced by integration scripts after tests/lib/common.sh and t_init: runs
# the whole pipeline on loopback (Jetstream test server -> consumer ->
# RabbitMQ -> processor -> api -> Postgres), each service with its own
# metrics port, and feeds it calendar traffic that exercises every outcome
# the dashboards show: creates, an update, a delete, RSVPs, an RSVP before
# its event (424, retried), and an invalid event (parked in the DLQ).
#
#   p_start            starts everything; sets P_API, P_CONSUMER_METRICS,
#                      P_PROCESSOR_METRICS (host:port), P_VHOST, P_KEY, P_DID
#   p_feed             writes the traffic to the Jetstream server
#   p_settled          true once the traffic reached its end state
#   P_E1_CREATE_ID     message id of the first event's create (request id)
#
# Binaries are $T_BIN/* (default build/bin) unless APIBIN, PROC, CONS are
# set. Logs are at debug level so each service logs every record it
# handles.

APIBIN=${APIBIN:-${T_BIN:-build/bin}/api}
PROC=${PROC:-${T_BIN:-build/bin}/processor}
CONS=${CONS:-${T_BIN:-build/bin}/consumer}

P_DID=did:plc:2a7ygipkrbh544aqhcav53oy
P_EVC=community.lexicon.calendar.event
P_RSC=community.lexicon.calendar.rsvp
P_CID=bafyreiguce4jh7kcbmof3pmcvasifqtw24b6isakj5ve5ga2b4z4alpc4i
# Record keys and revs are TIDs; revs grow in feed order.
P_E1=3mptbyplj5d2a
P_E2=3mptbyplj5d3a
P_E3=3mptbyplj5d4a
P_E4=3mptbyplj5d5a
P_R1=3mptbyplj5d6a
P_R2=3mptbyplj5d7a
# shellcheck disable=SC2034  # used by the sourcing scripts
P_E1_CREATE_ID="at://$P_DID/$P_EVC/$P_E1#3mptbypluud2b"

p_skip_unless_ready() {
	local b
	for b in "$APIBIN" "$PROC" "$CONS"; do
		[ -x "$b" ] || t_skip "$b missing (make all)"
	done
	[ -d tests/interop/node_modules/ws ] ||
		t_skip "npm packages missing (scripts/deps.sh --test)"
}

# One Jetstream v1 commit line: COLLECTION RKEY REV OPERATION [RECORD].
_p_commit() {
	P_SEQ=$((P_SEQ + 1))
	jq -nc --arg did "$P_DID" --arg c "$1" --arg k "$2" --arg r "$3" \
	    --arg op "$4" --arg cid "$P_CID" --argjson t "$P_SEQ" \
	    --argjson rec "${5:-null}" \
	    '{did: $did, time_us: $t, kind: "commit",
	      commit: ({rev: $r, operation: $op, collection: $c, rkey: $k} +
	        (if $rec == null then {} else {record: $rec, cid: $cid} end))}'
}

_p_event() {	# NAME: an event record
	jq -nc --arg n "$1" '{"$type": "community.lexicon.calendar.event",
	    name: $n, createdAt: "2026-07-01T10:00:00.000Z",
	    startsAt: "2026-08-01T18:00:00.000Z",
	    mode: "community.lexicon.calendar.event#inperson"}'
}

_p_rsvp() {	# EVENT_RKEY STATUS
	jq -nc --arg u "at://$P_DID/$P_EVC/$1" --arg s "$P_RSC#$2" \
	    --arg cid "$P_CID" '{"$type": "community.lexicon.calendar.rsvp",
	    subject: {uri: $u, cid: $cid}, status: $s,
	    createdAt: "2026-07-01T10:00:00.000Z"}'
}

# Writes the traffic to the server's append file (it polls it).
p_feed() {
	P_SEQ=$(($(date +%s) * 1000000))
	{
		# An RSVP before its event: 424, retried until E2 exists.
		_p_commit "$P_RSC" "$P_R2" 3mptbypluud2a create \
		    "$(_p_rsvp "$P_E2" interested)"
		_p_commit "$P_EVC" "$P_E1" 3mptbypluud2b create \
		    "$(_p_event "Metrics meetup")"
		_p_commit "$P_RSC" "$P_R1" 3mptbypluud2c create \
		    "$(_p_rsvp "$P_E1" going)"
		_p_commit "$P_EVC" "$P_E2" 3mptbypluud2d create \
		    "$(_p_event "Second meetup")"
		_p_commit "$P_EVC" "$P_E1" 3mptbypluud2e update \
		    "$(_p_event "Metrics meetup (moved)")"
		# Invalid for the API (no name): parked in the DLQ.
		_p_commit "$P_EVC" "$P_E3" 3mptbypluud2f create \
		    '{"$type": "community.lexicon.calendar.event",
		      "createdAt": "2026-07-01T10:00:00.000Z"}'
		_p_commit "$P_EVC" "$P_E4" 3mptbypluud2g create \
		    "$(_p_event "Short-lived")"
		_p_commit "$P_EVC" "$P_E4" 3mptbypluud2h delete
	} >>"$P_APPEND"
}

_p_by_source() {	# RKEY: status of GET /api/events/by-source
	curl -s -o "$T_DIR/by_source.json" -w '%{http_code}' -m 5 \
	    -H "Authorization: Bearer $P_KEY" -H 'x-tenant-id: default' \
	    --get --data-urlencode "sourceId=at://$P_DID/$P_EVC/$1" \
	    --data-urlencode sourceType=bluesky "$P_API/api/events/by-source"
}

_p_metric() {	# HOSTPORT NAME: the sample value (first series)
	curl -s -m 5 "http://$1/metrics" | awk -v n="$2" \
	    '$1 == n || index($1, n "{") == 1 { print $2; exit }'
}

# The traffic's end state: E1 renamed, E2 with the early RSVP, E4 gone,
# E3 parked.
p_settled() {
	[ "$(_p_by_source "$P_E1")" = 200 ] &&
	    jq -e '.name == "Metrics meetup (moved)"' "$T_DIR/by_source.json" \
	    >/dev/null &&
	    [ "$(_p_by_source "$P_E2")" = 200 ] &&
	    jq -e --arg d "$P_DID" '[.attendees[]? | select(.did == $d and
	      .status == "interested")] | length == 1' \
	    "$T_DIR/by_source.json" >/dev/null &&
	    [ "$(_p_by_source "$P_E4")" = 404 ] &&
	    [ "$(_p_metric "$P_PROCESSOR_METRICS" atcal_processor_dlq_depth)" \
	    -ge 1 ] 2>/dev/null
}

p_start() {
	local db mq jport
	db=$(t_new_db) || t_skip "no Postgres (make services-up)"
	mq=$(t_new_vhost) || t_skip "no RabbitMQ (make services-up)"
	# shellcheck disable=SC2034  # for the sourcing scripts
	P_VHOST=${mq##*/}
	P_KEY="k-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
	local aport cport pport
	aport=$(t_free_port) && cport=$(t_free_port) &&
	    pport=$(t_free_port) && jport=$(t_free_port) || t_done
	P_API=http://127.0.0.1:$aport
	P_CONSUMER_METRICS=127.0.0.1:$cport
	P_PROCESSOR_METRICS=127.0.0.1:$pport
	P_APPEND=$T_DIR/jetstream_append.jsonl
	: >"$P_APPEND"
	: >"$T_DIR/jetstream_initial.jsonl"

	local node=node
	[ -x tests/interop/node_modules/.bin/node ] &&
	    node=$T_ROOT/tests/interop/node_modules/.bin/node
	JETSTREAM_APPEND=$P_APPEND t_start jetstream "$node" \
	    tests/interop/jetstream_server.mjs "$T_DIR/jetstream_initial.jsonl" \
	    "$jport"
	t_wait_for 20 ss -Hltn "sport = :$jport" ||
	    { _t_record 1 "Jetstream server listens"; t_done; }

	DATABASE_URL=$db API_LISTEN=127.0.0.1:$aport SERVICE_API_KEYS=$P_KEY \
	    LOG_LEVEL=debug t_start api "$APIBIN"
	t_wait_http "$P_API/health/liveness" 30
	RABBITMQ_URL=$mq API_URL=$P_API API_KEY=$P_KEY TENANT_ID=default \
	    METRICS_LISTEN=$P_PROCESSOR_METRICS LOG_LEVEL=debug \
	    t_start processor "$PROC"
	t_wait_http "http://$P_PROCESSOR_METRICS/metrics" 30
	RABBITMQ_URL=$mq DATABASE_URL=$db SOURCE_CURSOR=0 \
	    SOURCE_URL=ws://127.0.0.1:$jport/subscribe \
	    METRICS_LISTEN=$P_CONSUMER_METRICS LOG_LEVEL=debug \
	    t_start consumer "$CONS"
	t_wait_http "http://$P_CONSUMER_METRICS/metrics" 30
	t_check "consumer connects to the Jetstream server" \
	    t_wait_for 30 grep -q "event=source_connected" "$T_DIR/consumer.log"
}
